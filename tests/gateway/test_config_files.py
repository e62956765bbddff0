"""Issue 21 (SEC-5, CMP-1): every configuration file the gateway reads is read at start-up
(services/gateway/configuration.py:load_all, the ConfigFiles dependency of GatewayService); a broken copy
(unknown key, wrong type) stops it with ``file: key.path: message``."""
import pytest

from services.common import settings
from services.gateway import configuration
from tests.config_support import UNKNOWN, assert_refused, broken_copy, cases

CONFIG = settings.ROOT / "config"

SPOILS = cases({
    "gateway/limits.yaml": [
        (("limits", "search"), "120 per minuut", "limits.search", "not moving windows"),
        (("limits", "qr"), 60, "limits.qr", "Not a valid string."),
        (("burst",), 1, "burst", UNKNOWN)],
    "attachments.yaml": [
        (("attachments", "max_bytes"), "10 MiB", "attachments.max_bytes", "Not a valid integer."),
        (("attachments", "viruses"), "scan", "attachments.viruses", UNKNOWN)],
})


def test_the_shipped_files_load():
    assert "search" in configuration.load_all(CONFIG).limits.by_name


@pytest.mark.parametrize("name, keys, value, key_path, message", SPOILS)
def test_a_broken_file_stops_start_up_with_file_and_key_path(tmp_path, name, keys, value, key_path, message):
    root = broken_copy(CONFIG, tmp_path, name, keys, value)
    assert_refused(lambda: configuration.load_all(root), root / name, key_path, message)
