"""Key files written once (services/common/keyfiles.py): REC-3 tree-head keys, CMP-3 receipt keys and the
field-encryption keys all go through it."""
import os
import stat
import threading

import pytest

from services.common import keyfiles


@pytest.mark.parametrize("algorithm", ["ed25519", "sm2"])
def test_key_file_is_private_and_stable(tmp_path, algorithm):
    path = tmp_path / "keys" / f"signing.{algorithm}.pem"
    first = keyfiles.ensure_private_key(path, algorithm)
    assert first.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert keyfiles.ensure_private_key(path, algorithm) == first      # never regenerated
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_racing_starters_share_one_key(tmp_path):
    path = tmp_path / "race.pem"
    results, start = [], threading.Barrier(8)

    def starter():
        start.wait()
        results.append(keyfiles.ensure_private_key(path, "ed25519"))

    threads = [threading.Thread(target=starter) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and len(set(results)) == 1
    assert results[0] == path.read_bytes()


def test_exclusive_write_keeps_the_winner(tmp_path):
    path = tmp_path / "current"
    assert keyfiles.write_atomic(path, b"first", exclusive=True) is True
    assert keyfiles.write_atomic(path, b"second", exclusive=True) is False
    assert path.read_bytes() == b"first"
    assert keyfiles.write_atomic(path, b"third") is True          # plain writes replace
    assert path.read_bytes() == b"third"


def test_unknown_algorithm_is_refused(tmp_path):
    with pytest.raises(ValueError):
        keyfiles.ensure_private_key(tmp_path / "k.pem", "rsa")
    assert not (tmp_path / "k.pem").exists()


def test_a_shared_folder_keeps_its_mode(tmp_path):
    """A key written into a folder other users traverse (the chaos suite's data root holds PostgreSQL's
    clusters, run as postgres) leaves the folder's mode alone — 0700 there locked pg_ctl out of its
    standby and no primary kill was ever followed by a promotion."""
    shared = tmp_path / "root"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    keyfiles.ensure_private_key(shared / "key-city.pem", "ed25519")
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o755
    keyfiles.write_atomic(tmp_path / "kek" / "current", b"k", private_dir=True)
    assert stat.S_IMODE(os.stat(tmp_path / "kek").st_mode) == 0o700
