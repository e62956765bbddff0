"""RPC client dependency that reads the broker URI when the container starts.

nameko's ClusterRpc reads AMQP_URI in ``__init__`` — at class-definition time — so a config loaded
or patched afterwards (tests on their own vhost) would be ignored.
"""
from __future__ import annotations

import eventlet
from nameko import config
from nameko.constants import AMQP_URI_CONFIG_KEY, DEFAULT_AMQP_URI
from nameko.rpc import ServiceRpc as _ServiceRpc

DEFAULT_TIMEOUT = 10.0


class RpcTimeout(Exception):
    pass


class ServiceRpc(_ServiceRpc):
    def setup(self):
        self.amqp_uri = config.get(AMQP_URI_CONFIG_KEY, DEFAULT_AMQP_URI)
        super().setup()


def call(client, method: str, *args, timeout: float = DEFAULT_TIMEOUT, **kwargs):
    """Call ``client.method(*args)`` with a deadline (nameko RPC has none of its own)."""
    try:
        with eventlet.Timeout(timeout):
            return getattr(client, method).call_async(*args, **kwargs).result()
    except eventlet.Timeout:
        raise RpcTimeout(f"{method} did not answer within {timeout}s") from None
