"""Issue 22 (GB/T 39786): the deploy configs encrypt personal fields at rest and give every replica the
same keys — compose: the field-keys volume zhifa-init fills with `zhifa keys create`, mounted read-only
in every service with encrypted fields; Kubernetes: the Secrets zhifa-field-keyrings and zhifa-field-kek
mounted at ZHIFA_KEYS_DIR / ZHIFA_KEK_DIR; the complaint receipts' SM2 key is a secret of its own. The
mounted directories are the ones the settings point at (the service reads its keyring there)."""
from __future__ import annotations

import subprocess

from nameko.cli.utils.config import load_config

from services.common import sm2
from tests.deploy.support import COMPOSE_DIR, K8S, load_yaml
from tests.deploy.test_kustomize import base_documents, by_kind, secret_template


SERVICES = ["complaints", "disclosure", "records", "review"]      # models with ENCRYPTED_COLUMNS
INDEX_ONLY = ["evaluation"]                                      # a keyed blind index of the party only


def test_issue22_configs_turn_field_encryption_on():
    for path in (COMPOSE_DIR / "config.yaml", K8S / "base" / "config" / "config.yaml"):
        with open(path) as fh:
            assert load_config(fh)["ZHIFA_FIELD_ENCRYPTION"] in (True, "on", "true"), path


def test_issue22_compose_mounts_one_key_volume_in_every_service_and_init_creates_the_keys():
    compose = load_yaml(COMPOSE_DIR / "docker-compose.yml")
    services = compose["services"]
    assert "field-keys" in compose["volumes"]
    init = services["zhifa-init"]
    assert "keys create" in " ".join(init["command"])
    assert "field-keys:/var/lib/zhifa/keys" in init["volumes"]
    for svc in SERVICES + INDEX_ONLY:
        assert "field-keys:/var/lib/zhifa/keys:ro" in services[svc]["volumes"], svc
    assert "/var/lib/zhifa/keys" in (COMPOSE_DIR / "Dockerfile").read_text()     # owned by the service user
    complaints = services["complaints"]
    assert complaints["environment"]["ZHIFA_COMPLAINTS_RECEIPT_SIGNING_KEY__FILE"] == \
        "/run/secrets/complaints_receipt_signing_key"
    assert "complaints_receipt_signing_key" in complaints["secrets"]
    assert "ZHIFA_COMPLAINTS_RECEIPT_SIGNING_KEY" in complaints["environment"]["ZHIFA_REQUIRE"]


def test_issue22_make_secrets_creates_an_sm2_receipt_key(tmp_path):
    out = tmp_path / "secrets"
    subprocess.run(["sh", str(COMPOSE_DIR / "make-secrets.sh"), str(out)], check=True, capture_output=True)
    pem = (out / "complaints_receipt_signing_key").read_bytes()
    assert len(sm2.public_key_from_pem(pem)) == 65


def test_issue22_k8s_mounts_the_key_secrets_where_the_settings_point():
    docs = base_documents()
    settings = dict(item.split("=", 1) for item in next(
        g for g in load_yaml(K8S / "base" / "kustomization.yaml")["configMapGenerator"]
        if g["name"] == "zhifa-settings")["literals"])
    assert settings["ZHIFA_KEYS_DIR"] == "/var/lib/zhifa/keys" and settings["ZHIFA_KEK_DIR"] == "/var/lib/zhifa/kek"
    template = secret_template()
    assert {"zhifa-field-keyrings", "zhifa-field-kek", "zhifa-complaints-receipt-key"} <= set(template)
    deployments = by_kind(docs, "Deployment")
    for svc in SERVICES + INDEX_ONLY:
        pod = deployments[f"zhifa-{svc}"]["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["field-keyrings"]["secret"]["secretName"] == "zhifa-field-keyrings"
        assert volumes["field-kek"]["secret"]["secretName"] == "zhifa-field-kek"
        (container,) = [c for c in pod["containers"] if c["name"] == svc]
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts["field-keyrings"]["mountPath"] == settings["ZHIFA_KEYS_DIR"] and mounts["field-keyrings"]["readOnly"]
        assert mounts["field-kek"]["mountPath"] == settings["ZHIFA_KEK_DIR"] and mounts["field-kek"]["readOnly"]
    (complaints,) = [c for c in deployments["zhifa-complaints"]["spec"]["template"]["spec"]["containers"]
                     if c["name"] == "complaints"]
    env = {e["name"]: e for e in complaints["env"]}
    assert env["ZHIFA_COMPLAINTS_RECEIPT_SIGNING_KEY"]["valueFrom"]["secretKeyRef"]["name"] == \
        "zhifa-complaints-receipt-key"


def test_issue22_a_split_kek_directory_is_what_the_file_provider_reads(tmp_path):
    """ZHIFA_KEK_DIR (the Kubernetes layout): keys made with the KEKs in keys/kek are read by a process
    pointed at the same files in another directory."""
    import shutil

    from nameko import config as nameko_config

    from services.common import fieldcrypt

    keys = tmp_path / "keys"
    with nameko_config.patch({"ZHIFA_KEYS_DIR": str(keys)}, clear=False):
        fieldcrypt._cache.clear()
        stored = fieldcrypt.keyring("records").encrypt("欧阳翠花", "personal_data")
    mounted = tmp_path / "mounted"
    shutil.copytree(keys / "kek", mounted / "kek")
    shutil.rmtree(keys / "kek")
    with nameko_config.patch({"ZHIFA_KEYS_DIR": str(keys), "ZHIFA_KEK_DIR": str(mounted / "kek")}, clear=False):
        fieldcrypt._cache.clear()
        fieldcrypt._providers.clear()
        assert fieldcrypt.keyring("records", create=False).decrypt(stored, "personal_data") == "欧阳翠花"
    fieldcrypt._cache.clear()
    fieldcrypt._providers.clear()


def test_issue22_zhifa_keys_create_makes_every_keyring_a_read_only_mount_needs(tmp_path):
    """The services mount the keys read-only, so `zhifa keys create` (zhifa-init) must make the keyring of
    every service that uses one — evaluation's too (a keyed index, no encrypted column)."""
    from services.common.cli import encrypted_services

    assert set(encrypted_services()) == set(SERVICES + INDEX_ONLY)
