"""The records service. It joins the suite through the registry (services/common/registry.py, issue 21)."""
from services.common.config_catalogue import ROOT, Setting, under_var
from services.common.registry import ServiceEntry

SETTINGS = (
    Setting("ZHIFA_RECORDS_LOG_ID", "str", "Printable-ASCII id of this suite's log, bound into every signed tree "
            "head (records.<region>).", "records.zhifa"),
    Setting("ZHIFA_RECORDS_REGION", "str", "Region code in the envelope of the log's own events (tree heads, "
            "key rotations); unset: the suite's region.", None, pattern=r"[0-9]{6}"),
    Setting("ZHIFA_RECORDS_BODY_ID", "str", "Body id in the envelope of the log's own events.", "zhifa-records-log"),
    Setting("ZHIFA_RECORDS_SIGNING_KEY", "secret", "The log's Ed25519 signing key: 64 hex digits, PEM text, or "
            "the path of a PEM file.", None, secret_file=True,
            default_text="the key file ZHIFA_RECORDS_SIGNING_KEY_FILE"),
    Setting("ZHIFA_RECORDS_SIGNING_KEY_FILE", "path", "Key file used when ZHIFA_RECORDS_SIGNING_KEY is unset; "
            "generated on first start (embedded set-up).", under_var("records-signing-key.pem"),
            default_text="`var/records-signing-key.pem`"),
    Setting("ZHIFA_RECORDS_PREVIOUS_PUBLIC_KEYS", "list", "Public keys that signed earlier heads before a key "
            "rotation (64 hex digits each for Ed25519, 130 for SM2); the self-check trusts them too.", (),
            pattern=r"[0-9a-fA-F]{64}|04[0-9a-fA-F]{128}"),
    Setting("ZHIFA_RECORDS_SIGNATURE_ALGORITHM", "str", "The algorithm new tree heads (and the proofs and "
            "receipts they carry) are signed with: ed25519, or sm2 (GB/T 32918 with SM3, user id "
            "1234567812345678; issue 22). Recorded in each head; heads signed before a switch stay "
            "verifiable.", "ed25519", choices=("ed25519", "sm2")),
    Setting("ZHIFA_RECORDS_SM2_SIGNING_KEY", "secret", "The log's SM2 signing key (PKCS#8 PEM text or the path "
            "of a PEM file), used when ZHIFA_RECORDS_SIGNATURE_ALGORITHM is sm2.", None, secret_file=True,
            default_text="the key file ZHIFA_RECORDS_SM2_SIGNING_KEY_FILE"),
    Setting("ZHIFA_RECORDS_SM2_SIGNING_KEY_FILE", "path", "SM2 key file used when ZHIFA_RECORDS_SM2_SIGNING_KEY "
            "is unset; generated on first use (embedded set-up).", under_var("records-sm2-signing-key.pem"),
            default_text="`var/records-sm2-signing-key.pem`"),
    Setting("ZHIFA_RECORDS_STH_INTERVAL", "float", "Seconds between signed tree heads while entries arrive.", 30.0,
            minimum=0),
    Setting("ZHIFA_RECORDS_SELF_CHECK_INTERVAL", "float", "Seconds between full self-checks (tree rebuilt from "
            "the stored leaves, checked against every signed head, REC-4).", 600.0, minimum=1),
    Setting("ZHIFA_RECORDS_SELF_CHECK_RETRY", "float", "Seconds between self-checks while the last one failed "
            "(appends wait meanwhile).", 30.0, minimum=0),
    Setting("ZHIFA_RECORDS_WITNESS_CHECK", "bool", "City: check the log against the head the province witnessed "
            "before signing (issue 23).", None, default_text="on at a city with ZHIFA_SUITE_REGION, else off"),
    Setting("ZHIFA_RECORDS_WITNESS_REQUEST_RETRY", "float", "Seconds after which an unanswered witness request is "
            "sent again.", 60.0, minimum=0),
    Setting("ZHIFA_RECORDS_WITNESS_KEYS", "mapping", "Province: the public key pinned for each city log it "
            "witnesses (log id → 64 hex digits, or 130 for an SM2 key; JSON or log=key,…).", {},
            read_in=("process", "compose")),
    Setting("ZHIFA_RECORDS_WRITER_PRIORITY", "int", "This replica's consumer priority on the case-traffic "
            "queues (issue 17): the broker delivers to the replica of highest priority while it keeps up (its "
            "prefetch window has room) and to the others when it falls behind or is gone, so one replica "
            "appends at a time instead of two taking the append lock in turn. Equal priorities: competing "
            "consumers.", None, minimum=0, default_text="a random number from 1 to 1000, chosen at start-up"),
    Setting("ZHIFA_RECORDS_SEAL_GRACE_SECONDS", "float", "How long after a case was archived a record that "
            "happened before the archiving is still accepted (events travel on different queues).", 600.0,
            minimum=0),
    Setting("ZHIFA_RECORDS_OPENING_TOLERANCE_SECONDS", "float", "How far before its case's opening a record may "
            "be dated and still be accepted (device clocks differ); earlier: refused as "
            "recorded_before_case_opened (REC-1).", 300.0, minimum=0),
    Setting("ZHIFA_RECORDS_BLOB_DIR", "path", "Directory of the records' attachments (content-addressed).",
            under_var("blobs"), default_text="`var/blobs`"),
    Setting("ZHIFA_RECORDS_RETENTION_FILE", "path", "Retention periods of enforcement records by action type.",
            ROOT / "config" / "records" / "retention.yaml"),
    Setting("ZHIFA_AUDIT_RETENTION_DAYS", "int", "Days staff audit entries are kept before purge; at least 183 "
            "(six months, SEC-3).", 190, minimum=183),
)

SERVICE = ServiceEntry(
    name="records",
    service="services.records.service:RecordsService",
    models="services.records.models",
    commands={"verify": "services.records.verify:main"},
    metrics_port=9101,
    order=1,
    settings=SETTINGS,
)
