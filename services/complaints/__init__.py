"""The complaints service. It joins the suite through the registry (services/common/registry.py, issue 21)."""
from services.common.config_catalogue import Setting, under_var
from services.common.registry import ServiceEntry

SETTINGS = (
    Setting("ZHIFA_COMPLAINTS_SWEEP_SECONDS", "float", "Seconds between deadline sweeps (escalation, overdue "
            "clues; CMP-3, CMP-5, CMP-9).", 300.0, minimum=0.01),
    Setting("ZHIFA_COMPLAINTS_ATTACHMENTS_DIR", "path", "Directory of complaint attachments (content-addressed).",
            under_var("complaints", "attachments"), default_text="`var/complaints/attachments`"),
    Setting("ZHIFA_COMPLAINTS_RECEIPT_SIGNATURE_ALGORITHM", "str", "The algorithm the complainant's receipts "
            "(registration receipt, status-query receipt) are signed with: sm2 (GB/T 32918 with SM3, user id "
            "1234567812345678) or ed25519; recorded in each receipt (issue 22, services/common/receipts.py).",
            "sm2", choices=("sm2", "ed25519")),
    Setting("ZHIFA_COMPLAINTS_RECEIPT_SIGNING_KEY", "secret", "The receipt signing key (PKCS#8 PEM text or the "
            "path of a PEM file) of ZHIFA_COMPLAINTS_RECEIPT_SIGNATURE_ALGORITHM; a key of the other algorithm "
            "is refused.", None, secret_file=True,
            default_text="a key file `var/complaints/receipt-signing-key.<algorithm>.pem`, generated on first use"),
)

SERVICE = ServiceEntry(
    name="complaints",
    service="services.complaints.service:ComplaintsService",
    models="services.complaints.models",
    metrics_port=9104,
    order=4,
    settings=SETTINGS,
)
