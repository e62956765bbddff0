"""Issue 22: SM4-GCM field encryption with envelope keys (services/common/fieldcrypt.py) — known answer of
SM4-GCM, the stored form (key id beside the ciphertext, bound to service and field), data-key rotation with
old values readable, KEK rotation (re-wrap only), the blind index, and the pluggable key provider."""
from __future__ import annotations

import json

import pytest
from nameko import config as nameko_config

from services.common import fieldcrypt


@pytest.fixture
def keys(tmp_path):
    with nameko_config.patch({"ZHIFA_KEYS_DIR": str(tmp_path / "keys"), "ZHIFA_KEY_PROVIDER": "file",
                              "ZHIFA_FIELD_ENCRYPTION": True}, clear=False):
        fieldcrypt._cache.clear()
        yield tmp_path / "keys"
        fieldcrypt._cache.clear()


def test_issue22_sm4_gcm_known_answer_rfc8998():
    """RFC 8998 Appendix A.1 (SM4-GCM test vector)."""
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    iv = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plain = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
                          "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA")
    blob = fieldcrypt.sm4_gcm_encrypt(key, plain, aad, nonce=iv)
    assert blob[12:-16].hex().upper() == ("17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
                                          "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D")
    assert blob[-16:].hex().upper() == "83DE3541E4C2B58177E065A9BF7B62EC"
    assert fieldcrypt.sm4_gcm_decrypt(key, blob, aad) == plain


def test_issue22_stored_form_key_id_beside_ciphertext_and_bound_to_its_field(keys):
    ring = fieldcrypt.keyring("complaints")
    stored = ring.encrypt("王小明", "complainant_name")
    assert stored.startswith(f"gm1:{ring.active}:") and "王小明" not in stored
    assert ring.decrypt(stored, "complainant_name") == "王小明"
    assert ring.encrypt("王小明", "complainant_name") != stored          # a fresh nonce each time
    with pytest.raises(fieldcrypt.FieldDecryptError):
        ring.decrypt(stored, "complainant_phone")                       # moved to another column
    with pytest.raises(fieldcrypt.FieldDecryptError):
        fieldcrypt.keyring("records").decrypt(stored, "complainant_name")   # another service's key
    body = stored.rsplit(":", 1)[1]
    flipped = stored[:-len(body)] + ("A" if body[0] != "A" else "B") + body[1:]
    with pytest.raises(fieldcrypt.FieldDecryptError):
        ring.decrypt(flipped, "complainant_name")
    # the keyring file holds wrapped keys only; the KEK is a separate file
    document = json.loads((keys / "complaints.keyring.json").read_text())
    raw = ring.data_keys[ring.active]
    assert raw.hex() not in json.dumps(document) and (keys / "kek" / "current").exists()


def test_issue22_data_key_rotation_keeps_old_values_readable_and_kek_rotation_rewraps(keys):
    ring = fieldcrypt.keyring("complaints")
    old = ring.encrypt("13912345678", "complainant_phone")
    index = ring.blind_index("320412199001011234", "id")
    new_id = fieldcrypt.rotate("complaints")
    fieldcrypt._cache.clear()
    ring2 = fieldcrypt.keyring("complaints")
    assert ring2.active == new_id != ring.active
    assert ring2.decrypt(old, "complainant_phone") == "13912345678"
    assert ring2.encrypt("x", "f").startswith(f"gm1:{new_id}:")
    assert ring2.blind_index("320412199001011234", "id") == index       # the index key does not rotate
    old_kek = fieldcrypt.provider().current_kek_id()
    new_kek = fieldcrypt.rotate_kek(["complaints"])
    fieldcrypt._cache.clear()
    (keys / "kek" / f"{old_kek}.key").unlink()                          # the old KEK is no longer needed
    ring3 = fieldcrypt.keyring("complaints")
    assert new_kek != old_kek and ring3.decrypt(old, "complainant_phone") == "13912345678"
    assert fieldcrypt.status("complaints")["keks"] == [new_kek]


class _Hsm:
    """What an HSM/KMS implementation looks like: the KEK never leaves it (here: a dict)."""

    calls = []

    def __init__(self, directory):
        self.keys = {"hsm-1": bytes(range(16))}

    def current_kek_id(self):
        return "hsm-1"

    def create_kek(self):
        raise NotImplementedError

    def wrap(self, kek_id, key, aad):
        _Hsm.calls.append("wrap")
        return fieldcrypt.sm4_gcm_encrypt(self.keys[kek_id], key, aad)

    def unwrap(self, kek_id, wrapped, aad):
        _Hsm.calls.append("unwrap")
        return fieldcrypt.sm4_gcm_decrypt(self.keys[kek_id], wrapped, aad)


def test_issue22_key_provider_is_pluggable(keys):
    with nameko_config.patch({"ZHIFA_KEY_PROVIDER": "tests.common.test_fieldcrypt:_Hsm"}, clear=False):
        fieldcrypt._providers.clear()
        ring = fieldcrypt.keyring("records")
        assert isinstance(fieldcrypt.provider(), fieldcrypt.KeyProvider)
        assert ring.decrypt(ring.encrypt("李四", "personal_data"), "personal_data") == "李四"
        assert "wrap" in _Hsm.calls and "unwrap" in _Hsm.calls
        assert not (keys / "kek").exists()                               # no KEK file: the HSM holds it
    fieldcrypt._providers.clear()
