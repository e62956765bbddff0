"""What the registry copies tell about officers (执法人员), as the fact rules ask it: whether an officer's
enforcement certificate (执法证件) was valid on a day (PLAT-3), and a body's legal-reviewer staffing
ratio (法制审核人员配备比例, REV-7). Pure: the stored rows' values are passed in."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Iterable


def certificate_valid_on(day: dt.date, latest_status: str | None, valid_until: dt.date | None,
                         certificate_no: str | None) -> bool:
    """Valid on ``day``: the latest status in force that day is ``valid`` and not expired; with no
    status reported, valid when the officer was registered with a certificate number."""
    if latest_status is None:
        return bool(certificate_no)
    return latest_status == "valid" and (valid_until is None or day <= valid_until)


def reviewer_ratio(roles: Iterable[str]) -> Decimal | None:
    """Legal reviewers per enforcing officer of a body (≤ 1, four decimals); None without enforcing
    officers. ``roles``: each officer's comma-separated roles."""
    roles = list(roles)
    enforcing = sum(1 for r in roles if "officer" in r.split(","))
    reviewers = sum(1 for r in roles if "legal_reviewer" in r.split(","))
    if not enforcing:
        return None
    return min(Decimal(1), (Decimal(reviewers) / Decimal(enforcing)).quantize(Decimal("0.0001")))


def acted_without_certificate(validity: bool | None, already_flagged: bool) -> bool:
    """An enforcement action becomes a ``certificate_invalid_action`` fact once, when the certificate is
    known not to have been valid that day (an officer never registered is not judged, PLAT-3)."""
    return not already_flagged and validity is False
