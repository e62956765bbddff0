"""Read side of the public portal (DISC-9): what the public sees of a publication, and search.

Everything here returns plain dicts of PUBLIC data only (the redacted entry, dates, the public
history). Internal columns (hold reasons, actors, internal revisions, decision sources) never leave
through these functions.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from services.common.events import ACTION_TYPE_NAMES_ZH
from services.disclosure import search
from services.disclosure.domain.publication import FIELD_LABELS_ZH, Action, WithdrawalReason
from services.disclosure.models import Publication

STATUS_ZH = {"pending": "待公开", "published": "已公开", "corrected": "已更正", "withdrawn": "已撤下",
             "withheld": "依法不予公开", "cancelled": "公开前已撤销，不再公开"}
PUBLIC = search.PUBLIC_STATUSES
VISIBLE = PUBLIC + ("withdrawn",)  # a withdrawn entry keeps its page: notice and history (DISC-6)
_LEGACY_ACTIONS = {"published": "publish", "withdrawn": "withdraw", "corrected": "correct"}


def decision_url(publication_id: str) -> str:
    return f"/disclosure/decisions/{publication_id}"


def public_history(history: list[dict]) -> list[dict]:
    """The public lines of a history: when, what, why, which fields — no actors (DISC-5, DISC-6)."""
    out = []
    for h in history or []:
        action = _LEGACY_ACTIONS.get(h.get("action"), h.get("action"))
        try:
            label = Action(action).label_zh
        except ValueError:
            continue  # internal notes are not public
        fields = [FIELD_LABELS_ZH.get(f, f) for f in h.get("changed_fields") or []]
        out.append({"at": h.get("at"), "action": action, "action_zh": label,
                    "reason": h.get("reason_zh") or h.get("reason") or "",
                    "changed_fields_zh": list(dict.fromkeys(fields)),
                    "related_publication": h.get("related_publication")})
    return out


def notice(p: Publication) -> str | None:
    if p.status == "withdrawn":
        reason = WithdrawalReason(p.withdrawal_reason).label_zh if p.withdrawal_reason else "依法"
        day = p.withdrawn_on.isoformat() if p.withdrawn_on else ""
        text = f"该行政执法决定已于{day}因{reason}撤下原公示信息。"
        if p.replaced_by:
            text += "重新作出的决定已另行公示。"
        return text
    if p.status == "corrected" and p.corrections:
        return f"该公示信息已更正{p.corrections}次，以下为更正后的内容。"
    return p.notice_zh


def publication_view(p: Publication, with_history: bool = False) -> dict:
    """The public view of one publication (list entries, JSON API, CSV/Atom rows, decision page)."""
    public = p.status in PUBLIC
    view = {
        "publication_id": p.publication_id, "decision_no": p.decision_no, "region_code": p.region_code,
        "body_id": p.body_id, "body_name": p.body_name or p.body_id, "action_type": p.action_type,
        "action_type_zh": ACTION_TYPE_NAMES_ZH.get(p.action_type, p.action_type),
        "category": p.category if public else "",
        "parties": p.parties_public if public else "",
        "parties_detail": (p.parties_json or []) if public else [],
        "facts": p.facts_public if public else "",
        "conclusion": p.conclusion_public if public else "",
        "conclusion_type": (p.conclusion_type or "") if public else "",
        "legal_basis": p.legal_basis if public else "",
        "fine_amount": p.fine_amount if public else None,
        "decided_on": p.decided_on.isoformat(),
        "published_on": p.published_on.isoformat() if p.published_on else None,
        "due_on": p.due_on.isoformat(), "due_provisional": bool(p.due_provisional),
        "on_time": (p.published_on <= p.due_on) if p.published_on else None,
        "status": p.status, "status_zh": STATUS_ZH.get(p.status, p.status),
        "summary_only": bool(p.summary_only), "corrections": p.corrections or 0,
        "notice": notice(p), "replaces": p.replaces, "replaced_by": p.replaced_by,
        "updated_at": p.updated_at.isoformat() if p.updated_at else None,
        "url": decision_url(p.publication_id),
    }
    if with_history:
        view["history"] = public_history(p.history)
    return view


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise search.SearchError("日期格式应为YYYY-MM-DD") from None


def request_from(params: dict) -> search.SearchRequest:
    """A SearchRequest from the portal's query parameters (strings); raises SearchError."""
    action = params.get("action_type") or None
    if action and action not in ACTION_TYPE_NAMES_ZH:
        raise search.SearchError("行为类别不正确")
    try:
        page = int(params.get("page") or 1)
        size = int(params.get("page_size") or search.PAGE_SIZE)
    except (TypeError, ValueError):
        raise search.SearchError("页码应为整数") from None
    return search.SearchRequest(q=(params.get("q") or "").strip() or None, body_id=params.get("body_id") or None,
                                region_code=params.get("region_code") or None, action_type=action,
                                date_from=_date(params.get("date_from")), date_to=_date(params.get("date_to")),
                                page=page, page_size=size, sort=params.get("sort") or "date")


def search_publications(session: Session, req: search.SearchRequest) -> dict:
    """One page of public entries matching ``req`` (the function behind RPC ``search`` and the bench)."""
    page = search.search(session, req)
    rows = search.load_page(session, Publication, page)
    return {"page": req.page, "page_size": req.page_size, "has_more": page.has_more,
            "max_results": search.MAX_RESULTS, "sort": req.sort,
            # issue 19: "共 N 条" — exact up to max_results, else total_more (more than max_results match)
            "total": min(page.total, search.MAX_RESULTS), "total_more": page.total > search.MAX_RESULTS,
            "results": [publication_view(p) for p in rows]}
