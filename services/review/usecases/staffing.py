"""审核人员配备 (REV-7): each body's legal reviewers recounted against its officers (at least the ratio
of ``review.yaml``, 5% by default); a shortfall lasting the grace period opens a violation
(``review.staffing_short``), enough reviewers close it (``review.staffing_restored``); the gauges follow."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Iterable

from services.common.db import emit
from services.review import metrics, store
from services.review.domain import reviewer_staffing


def recount(session, body_ids: Iterable[str], *, min_ratio: Decimal, grace_hours: float, now: dt.datetime,
            emit_events: bool = True) -> list[dict]:
    """Recount reviewers vs. officers of each body; open / close the staffing violation; return the states."""
    out = []
    for body_id in sorted(set(body_ids)):
        body = store.registry_body(session, body_id)
        region = body.region_code if body is not None else store.officers_region(session, body_id)
        if region is None:
            continue
        row = store.staffing_row(session, body_id, region, now)      # locked: counted after a concurrent recount
        officers, reviewers_n = store.staffing_counts(session, body_id)
        s = reviewer_staffing(officers, reviewers_n, min_ratio)
        row.region_code, row.officers, row.reviewers = region, officers, reviewers_n
        row.required, row.shortfall, row.compliant = s.required, s.shortfall, s.compliant
        row.ratio, row.checked_at = (str(s.ratio) if s.ratio is not None else None), now
        payload = {"officers": officers, "reviewers": reviewers_n, "required": s.required,
                   "shortfall": s.shortfall, "ratio": s.ratio, "min_ratio": min_ratio}
        if s.compliant:
            row.short_since = None
            if row.violation_id:
                violation = store.violation(session, row.violation_id)
                if violation is not None and violation.resolved_at is None:
                    violation.resolved_at = now
                row.violation_id = None
                if emit_events:
                    emit(session, "review.staffing_restored",
                         {**payload, "violation_id": violation.violation_id if violation is not None else None},
                         region_code=region, body_id=body_id)
        else:
            row.short_since = store.aware(row.short_since) or now
            due = now - row.short_since >= dt.timedelta(hours=grace_hours)
            if row.violation_id is None and due and emit_events:
                name = body.name if body is not None else body_id
                description = (f"{name}执法人员{officers}名，法制审核人员{reviewers_n}名，"
                               f"低于执法人员总数的{(min_ratio * 100).normalize()}%（应不少于{s.required}名，缺{s.shortfall}名）")
                violation = store.record_violation(session, kind="staffing_short", region_code=region,
                                                   body_id=body_id, description=description,
                                                   details={k: str(v) for k, v in payload.items()}, now=now)
                row.violation_id = violation.violation_id
                violation.event_id = emit(session, "review.staffing_short",
                                          {**payload, "violation_id": violation.violation_id},
                                          region_code=region, body_id=body_id)
        if s.ratio is not None:
            metrics.STAFFING_RATIO.labels(body_id).set(float(s.ratio))
        metrics.STAFFING_SHORTFALL.labels(body_id).set(s.shortfall)
        out.append(store.staffing_view(row))
    return out
