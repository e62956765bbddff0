"""The records service's dependency providers and the guard of its log-bound RPCs (moved out of
service.py, which holds the entrypoints only)."""
from __future__ import annotations

import functools
import inspect

from nameko.exceptions import IncorrectSignature
from nameko.extensions import DependencyProvider

from services.common.blobs import FilesystemBlobStore
from services.records import config
from services.records.ledger import Ledger, LogIntegrityError, SelfCheckFailed
from services.records.usecases.access import error


class LedgerProvider(DependencyProvider):
    """One in-memory Merkle tree per service process, shared by its workers."""

    def setup(self):
        self.ledger = Ledger()

    def get_dependency(self, worker_ctx):
        return self.ledger


class BlobStoreProvider(DependencyProvider):
    def setup(self):
        self.store = FilesystemBlobStore(config.blob_dir())

    def get_dependency(self, worker_ctx):
        return self.store


def integrity_guard(method):
    """An RPC that appends to (or proves from) the log answers 503 with the reason while the log
    fails its self-check or has a hole (REC-4): reads of case records are logged, so they wait too."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            signature.bind(self, *args, **kwargs)
        except TypeError as exc:          # what nameko's own signature check answers
            raise IncorrectSignature(str(exc)) from None
        try:
            return method(self, *args, **kwargs)
        except SelfCheckFailed as exc:
            return error(503, "log_integrity", "执法全过程记录日志自检未通过，已暂停签名和追加（含调阅登记），"
                                               f"请联系运维人员：{exc.result.summary_zh()}")
        except LogIntegrityError:
            return error(503, "log_integrity", "执法全过程记录日志序号不连续，已暂停追加，请联系运维人员运行核验")
    return guarded
