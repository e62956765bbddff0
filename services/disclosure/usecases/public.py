"""The public portal's reads (DISC-1, DISC-2, DISC-7…DISC-9): public data only — published decisions and
their public history, a body's before-information as of a day, certificates, annual reports, draws
and monthly inspection results."""
from __future__ import annotations

import datetime as dt
import time

from decimal import Decimal, InvalidOperation

from services.disclosure import inspections, metrics, portal, receipts, register, reports, search, store
from services.disclosure.domain import similar


def search_publications(db, params: dict) -> dict:
    """Online query of published decisions: Chinese full text plus filters, newest first."""
    started = time.perf_counter()
    try:
        req = portal.request_from(params)
        with db.session() as session:
            return portal.search_publications(session, req)
    except search.SearchError as exc:
        return {"error": "invalid", "message": str(exc), "results": [], "page": params.get("page"), "total": 0,
                "has_more": False}
    finally:
        metrics.SEARCH_SECONDS.observe(time.perf_counter() - started)


def publication(db, publication_id) -> dict | None:
    """One publication with its public history (published, corrected or withdrawn)."""
    with db.session() as session:
        p = store.publication(session, publication_id)
        if p is None or p.status not in portal.VISIBLE:
            return None
        view = portal.publication_view(p, with_history=True)
        for key in ("replaces", "replaced_by"):
            other = store.publication(session, view[key])
            view[key + "_decision_no"] = other.decision_no if other is not None else None
        return view


def bodies(db, region_code: str | None) -> list[dict]:
    with db.session() as session:
        return register.bodies(session, region_code)


def body_page(db, body_id, day: dt.date) -> dict | None:
    """DISC-1: a body's before-information (as of a day), its annual reports, draws and results."""
    with db.session() as session:
        info = register.body_items(session, body_id, day)
        if info is None:  # not (yet) registered, but it has published decisions: a minimal page
            any_row = store.any_publication_of_body(session, body_id, portal.PUBLIC)
            if any_row is None:
                return None
            info = {"body": {"body_id": body_id, "name": any_row.body_name or body_id, "body_kind_zh": "未登记",
                             "region_code": any_row.region_code, "item_id": body_id, "history": []},
                    **{k: [] for k in register.KIND_ZH if k != "body"}, "as_of": day.isoformat()}
        info["annual_reports"] = [
            {"year": r.year, "published_on": r.published_on.isoformat(), "url": reports.report_url(body_id, r.year)}
            for r in store.annual_reports_of_body(session, body_id)]
        info["draws"] = [{"draw_id": d.draw_id, "matter": d.matter, "status": d.status,
                          "announced_at": d.announced_at.isoformat()}
                         for d in store.recent_draws_of_body(session, body_id)]
        info["inspection_months"] = [
            {"year": m.year, "month": m.month, "total": m.summary.get("total"),
             "published_on": m.published_on.isoformat()}
            for m in store.inspection_months_of_body(session, body_id)]
        info["publications_count"] = store.count_publications_of_body(session, body_id, portal.PUBLIC)
        return info


def verify_certificate(db, certificate_no, day: dt.date) -> dict:
    """DISC-2: certificate number → holder, body, valid or not, since when."""
    with db.session() as session:
        return register.verify(session, certificate_no, day)


def annual_report(db, body_id, year, today: dt.date) -> dict | None:
    with db.session() as session:
        row = store.annual_report(session, body_id, int(year))
        if row is None:
            return None
        return {**reports.report_view(row, today), "receipts": receipts.public_status(session, row)}


def draw(db, draw_id, public_value=None) -> dict | None:
    """DISC-8: a draw with everything needed to verify it; ``public_value`` checks a value someone typed."""
    with db.session() as session:
        row = store.draw(session, draw_id)
        return inspections.draw_view(row, public_value) if row else None


def inspection_month(db, body_id, year, month) -> dict | None:
    with db.session() as session:
        row = store.inspection_month(session, body_id, int(year), int(month))
        return inspections.month_view(row) if row else None


SIMILAR_LIMIT_MAX = 20
SIMILAR_POOL = 1000        # the newest published decisions of the matter considered (bounded work)


def similar_decisions(db, matter_code, facts=None, fine_amount=None, exclude_case_id=None, limit=5) -> dict:
    """REV-8 (issue 18): published decisions of the same enforcement matter, the most similar facts first, and
    the distribution of their fines with the proposed fine's place in it. Public data only (the published,
    redacted entries), so no scope: anyone may read them on the portal."""
    if not matter_code or not isinstance(matter_code, str):
        raise ValueError("matter_code is required")
    try:
        proposed = None if fine_amount in (None, "") else Decimal(str(fine_amount))
    except InvalidOperation:
        raise ValueError(f"fine_amount is not an amount: {fine_amount!r}") from None
    limit = max(1, min(int(limit or 5), SIMILAR_LIMIT_MAX))
    with db.session() as session:
        rows = store.published_of_matter(session, matter_code, portal.PUBLIC, SIMILAR_POOL)
        candidates = [similar.Candidate(r.publication_id, r.case_id, r.decision_no, r.body_id, r.body_name,
                                        r.decided_on.isoformat(), r.facts_public or "",
                                        Decimal(r.fine_amount) if r.fine_amount else None) for r in rows]
    others = [c for c in candidates if c.case_id != exclude_case_id]
    ranked = similar.rank(facts, others, limit)
    spread = similar.distribution((c.fine_amount for c in others), proposed)
    return {"matter_code": matter_code, "considered": len(others),
            "decisions": [{"publication_id": r.candidate.publication_id, "decision_no": r.candidate.decision_no,
                           "body_id": r.candidate.body_id, "body_name": r.candidate.body_name,
                           "decided_on": r.candidate.decided_on, "facts": r.candidate.facts[:500],
                           "fine_amount": None if r.candidate.fine_amount is None else str(r.candidate.fine_amount),
                           "similarity": str(r.score),
                           "url": f"/disclosure/decisions/{r.candidate.publication_id}"} for r in ranked],
            "amounts": spread.as_dict()}
