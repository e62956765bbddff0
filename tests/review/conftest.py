"""Fixtures of the review integration tests: review and the gateway on a fresh vhost, a departmental API
key for 320412-SCJG, a tap on review.events, and a way to change review's configuration files."""
from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest
import yaml

from services.common.auth import hash_key
from tests.fixtures import running_suite


@pytest.fixture
def review_suite(amqp_uri, sqlite_databases, tmp_path):
    from tests.review.review_events import Tap

    key = f"k-{uuid.uuid4().hex}"
    keys = [{"key_sha256": hash_key(key), "system": "wj-scjg-system", "region_code": "320412",
             "body_ids": ["320412-SCJG"]}]
    with running_suite(amqp_uri, sqlite_databases, tmp_path, services=["review", "gateway"], api_keys=keys) as s:
        s.api_key = key
        s.tap = Tap(amqp_uri, "review")
        try:
            yield s
        finally:
            s.tap.close()


@contextmanager
def review_config(tmp_path, setting: str, data: dict):
    """Point a review configuration setting (e.g. ZHIFA_REVIEW_SETTINGS) at a file with ``data``."""
    from nameko import config

    path = tmp_path / f"{setting.lower()}-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with config.patch({setting: str(path)}, clear=False):
        yield path
