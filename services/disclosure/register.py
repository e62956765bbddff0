"""Before-information register (事前公开, DISC-1, PLAT-4) and credential verification (事中公示, DISC-2).

Departmental events keep bodies, officers' PUBLIC fields, certificates and power-list entries
current; staff add service guides, remedy channels and random-inspection matters. Every change is a
new version (``before_items``) with its effective date and reason; the current and all historical
versions can be read ("as of" a day). Content holds public fields only — an officer's ID number or
phone never reaches this table.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from services.common.db import dialect_insert, utcnow
from services.common.identifiers import region_covers
from services.disclosure.domain.before import (CertificateEvent, CertificateState, InspectionMatter, ItemKind,
                                               PowerEntry, RemedyChannel, ServiceGuide, in_force,
                                               officer_public_record, stale_powers,
                                               verify_certificate)
from services.disclosure.domain.model import ACTION_TYPE_LABELS, parse_action_type
from services.disclosure.models import ISSUANCE_PREDICATE, ISSUANCE_REASON, BasisChange, BeforeItem, CertificateRecord

CHINA = dt.timezone(dt.timedelta(hours=8))
KIND_ZH = {kind.value: kind.label_zh for kind in ItemKind}
STAFF_KINDS = {"service_guide": ServiceGuide, "remedy_channel": RemedyChannel, "inspection_matter": InspectionMatter}
BODY_KIND_ZH = {"department": "行政机关", "authorised_org": "法律法规授权组织", "entrusted_org": "受委托组织"}
LEVEL_ZH = {"province": "省级", "city": "市级", "county": "县级", "township": "乡镇（街道）级", None: ""}
ROLE_ZH = {"officer": "执法人员", "legal_reviewer": "法制审核人员"}


def china_day(value: dt.datetime) -> dt.date:
    return value.astimezone(CHINA).date()


# --- writing versions --------------------------------------------------------------------------------
def versions(session: Session, kind: str, item_id: str) -> list[BeforeItem]:
    rows = session.scalars(select(BeforeItem).where(BeforeItem.kind == kind, BeforeItem.item_id == item_id)).all()
    return sorted(rows, key=lambda r: (r.valid_from, r.version))


def put_version(session: Session, kind: str, item_id: str, *, body_id: str, region_code: str, content: dict | None,
                valid_from: dt.date, reason: str, extra: dict | None = None, recorded_by: str | None = None
                ) -> BeforeItem | None:
    """Append a version; an identical content (a resend) adds nothing. Returns the new version or None.

    Race-free (issue 20, PLAT-1): the version is inserted ``ON CONFLICT DO NOTHING`` on (kind, item,
    version). When another transaction took the number first (two registrations of one body handled
    at once), the insert waits for it and skips; the history is then read again (it now holds the other
    version) and the version compared and numbered anew — instead of failing on the unique key."""
    given_reason = reason
    while True:
        history = versions(session, kind, item_id)
        current = history[-1] if history else None
        if current is not None and current.content == content and (current.extra or {}) == (extra or {}):
            return None
        number = (session.scalar(select(func.max(BeforeItem.version)).where(
            BeforeItem.kind == kind, BeforeItem.item_id == item_id)) or 0) + 1
        reason = given_reason
        if current is not None and current.content and content and reason in ("登记", "变更"):
            changed = [k for k in content if content.get(k) != current.content.get(k)]
            reason = "变更：" + "、".join(changed) if changed else reason
        new_id = session.scalar(dialect_insert(session, BeforeItem).values(
            kind=kind, item_id=item_id, version=number, body_id=body_id, region_code=region_code, content=content,
            extra=extra or {}, valid_from=valid_from, reason=reason, recorded_at=utcnow(), recorded_by=recorded_by)
            .on_conflict_do_nothing().returning(BeforeItem.id))
        if new_id is not None:
            return session.get(BeforeItem, new_id)


def current(session: Session, kind: str, item_id: str, day: dt.date | None = None) -> BeforeItem | None:
    """The version in force on ``day`` (today in China by default); None before the first or when retired."""
    return in_force(versions(session, kind, item_id), day or dt.datetime.now(CHINA).date())


def body_name(session: Session, body_id: str) -> str:
    row = current(session, "body", body_id, dt.date.max)
    return (row.content or {}).get("name") if row else body_id


# --- departmental events ---------------------------------------------------------------------------------
def on_body_registered(session: Session, event) -> None:
    p = event.payload
    content = {"body_id": p["body_id"], "name": p["name"], "body_kind": p["kind"],
               "body_kind_zh": BODY_KIND_ZH[p["kind"]], "region_code": p["region_code"],
               "duties": p.get("field") or "", "management": p.get("management") or "local",
               "entrusting_body_id": p.get("entrusting_body_id") or "",
               "entrustment_basis": p.get("entrustment_basis") or ""}
    extra = {"superior_body_id": p.get("superior_body_id")}
    existed = bool(versions(session, "body", p["body_id"]))
    put_version(session, "body", p["body_id"], body_id=p["body_id"], region_code=p["region_code"], content=content,
                extra=extra, valid_from=china_day(event.occurred_at), reason="变更" if existed else "登记",
                recorded_by=event.source_system)


def on_officer_registered(session: Session, event) -> None:
    p = event.payload
    bname = body_name(session, p["body_id"])
    if p.get("certificate_no"):
        public = dataclasses.asdict(officer_public_record({"name": p["name"], "certificate_no": p["certificate_no"],
                                                           "body_name": bname, "field": p.get("field") or ""}))
    else:  # a legal reviewer without an enforcement certificate
        public = {"name": p["name"].strip(), "certificate_no": "", "body_name": bname,
                  "enforcement_field": p.get("field") or ""}
    public["roles_zh"] = "、".join(ROLE_ZH.get(r, r) for r in p.get("roles") or ["officer"])
    public["body_id"] = p["body_id"]
    day = china_day(event.occurred_at)
    existed = bool(versions(session, "officer", p["officer_id"]))
    put_version(session, "officer", p["officer_id"], body_id=p["body_id"], region_code=event.region_code,
                content=public, extra={"officer_id": p["officer_id"]}, valid_from=day,
                reason="变更" if existed else "登记", recorded_by=event.source_system)
    number = (p.get("certificate_no") or "").strip().upper()
    if number:
        # registering an officer with a certificate number is its issuance (发证): valid from that day. One
        # issuance per number, race-free (issue 20: INSERT … ON CONFLICT on the unique issuance index), and
        # recorded whatever arrived first — a status change that overtook the registration used to suppress
        # it (PLAT-1: the same history for every arrival order)
        session.execute(dialect_insert(session, CertificateRecord).values(
            certificate_no=number, officer_id=p["officer_id"], state="valid", since=day, reason=ISSUANCE_REASON,
            recorded_at=utcnow()).on_conflict_do_nothing(index_elements=["certificate_no"],
                                                         index_where=ISSUANCE_PREDICATE))


def on_certificate_status_changed(session: Session, event) -> None:
    p = event.payload
    session.add(CertificateRecord(certificate_no=p["certificate_no"].strip().upper(), officer_id=p["officer_id"],
                                  state=p["status"], since=china_day(p["effective_from"]),
                                  expires_on=p.get("valid_until"), reason=p.get("reason"), recorded_at=utcnow()))


def on_power_published(session: Session, event) -> None:
    p = event.payload
    action = parse_action_type(p["action_type"])
    content = {"matter_code": p["matter_code"], "matter_name": p["name"], "action_type": action.value,
               "action_type_zh": ACTION_TYPE_LABELS[action], "legal_basis": p["legal_basis"],
               "body_name": body_name(session, p["body_id"]), "level_jurisdiction": LEVEL_ZH.get(p.get("level"), ""),
               "updated_on": p["published_on"].isoformat(), "list_version": p.get("version") or 1,
               "basis_changed_on": p["basis_changed_on"].isoformat() if p.get("basis_changed_on") else None}
    put_version(session, "power", f"{p['body_id']}|{p['matter_code']}", body_id=p["body_id"],
                region_code=event.region_code, content=content, valid_from=p["published_on"],
                reason=f"权责清单第{p.get('version') or 1}版公布", recorded_by=event.source_system)


# --- staff items --------------------------------------------------------------------------------------------
def validate_staff_content(kind: str, content: dict) -> dict:
    """Check a service guide / remedy channel / inspection matter against the domain's fields."""
    cls = STAFF_KINDS[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    required = {f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    errors = {k: ["不支持的字段"] for k in content if k not in names}
    errors.update({k: ["必填"] for k in required if not str(content.get(k) or "").strip()})
    if errors:
        raise ValueError(errors)
    return dataclasses.asdict(cls(**{k: str(v).strip() for k, v in content.items()}))


# --- reading ---------------------------------------------------------------------------------------------
def _version_view(v: BeforeItem, valid_to: dt.date | None) -> dict:
    return {"version": v.version, "valid_from": v.valid_from.isoformat(),
            "valid_to": valid_to.isoformat() if valid_to else None, "reason": v.reason,
            "retired": v.content is None, "content": v.content}


def basis_changes_for(session: Session, region_code: str) -> list[BasisChange]:
    return [c for c in session.scalars(select(BasisChange)).all() if region_covers(c.region_code, region_code)]


def _law(name: str) -> str:
    return name.replace("《", "").replace("》", "").strip()


def effective_basis_change(entry: dict, changes: list[BasisChange]) -> dt.date | None:
    """The earliest change of the entry's legal basis not yet answered by an update (PLAT-4)."""
    updated = dt.date.fromisoformat(entry["updated_on"])
    dates = [c.changed_on for c in changes if _law(c.law_name) and _law(c.law_name) in _law(entry["legal_basis"])
             and c.changed_on > updated]
    if entry.get("basis_changed_on"):
        declared = dt.date.fromisoformat(entry["basis_changed_on"])
        if declared > updated:
            dates.append(declared)
    return min(dates) if dates else None


def power_staleness(entries: list[tuple[BeforeItem, dict]], changes: list[BasisChange], today: dt.date) -> dict:
    """item_id → StalePower for the entries that are flagged."""
    domain_entries, by_code = [], {}
    for row, content in entries:
        changed = effective_basis_change(content, changes)
        code = row.item_id
        by_code[code] = row
        domain_entries.append(PowerEntry(code, content["matter_name"], parse_action_type(content["action_type"]),
                                         content["legal_basis"], content["body_name"], content["level_jurisdiction"],
                                         dt.date.fromisoformat(content["updated_on"]), changed))
    return {s.matter_code: s for s in stale_powers(domain_entries, today)}


def body_items(session: Session, body_id: str, day: dt.date, with_history: bool = True) -> dict | None:
    """A body's before-information as of ``day``: body, officers, powers (with stale flags), guides,
    remedy channels, inspection matters — current versions and their histories."""
    rows = session.scalars(select(BeforeItem).where(BeforeItem.body_id == body_id)).all()
    grouped: dict[tuple[str, str], list[BeforeItem]] = defaultdict(list)
    for r in rows:
        grouped[(r.kind, r.item_id)].append(r)
    if ("body", body_id) not in grouped:
        return None
    out: dict = {k: [] for k in KIND_ZH if k != "body"}
    body = None
    powers = []
    for (kind, item_id), vs in grouped.items():
        vs.sort(key=lambda r: (r.valid_from, r.version))
        hist = [_version_view(v, vs[i + 1].valid_from if i + 1 < len(vs) else None) for i, v in enumerate(vs)]
        public = in_force(vs, day)
        if public is None:
            continue
        item = {"item_id": item_id, "version": public.version, "valid_from": public.valid_from.isoformat(),
                **public.content}
        if with_history:
            item["history"] = hist
        if kind == "body":
            body = item
        else:
            out[kind].append(item)
            if kind == "power":
                powers.append((public, public.content))
    if body is None:
        return None
    stale = power_staleness(powers, basis_changes_for(session, body["region_code"]), day)
    for item in out["power"]:
        s = stale.get(item["item_id"])
        item["stale"] = bool(s)
        item["stale_message"] = s.message_zh if s else ""
    for kind in out:
        out[kind].sort(key=lambda i: (i.get("matter_code") or i.get("name") or i.get("matter_name")
                                      or i.get("kind_zh") or "", i["item_id"]))
    return {"body": body, **out, "as_of": day.isoformat()}


def stale_power_list(session: Session, scope, today: dt.date) -> list[dict]:
    """Every flagged power-list entry in the caller's scope (a ``Scope``: its region and bodies, SEC-2;
    None: everywhere, for the job) — PLAT-4, for supervisors."""
    grouped: dict[str, list[BeforeItem]] = defaultdict(list)
    for r in session.scalars(select(BeforeItem).where(BeforeItem.kind == "power")).all():
        if scope is None or scope.covers(r.region_code, r.body_id):
            grouped[r.item_id].append(r)
    changes = session.scalars(select(BasisChange)).all()
    out = []
    for item_id, vs in grouped.items():
        row = in_force(vs, today)
        if row is None:
            continue
        relevant = [c for c in changes if region_covers(c.region_code, row.region_code)]
        flagged = power_staleness([(row, row.content)], relevant, today).get(item_id)
        if flagged:
            out.append({"item_id": item_id, "body_id": row.body_id, "region_code": row.region_code,
                        "matter_code": row.content["matter_code"], "matter_name": row.content["matter_name"],
                        "basis_changed_on": flagged.basis_changed_on.isoformat(),
                        "update_due": flagged.update_due.isoformat(), "days_overdue": flagged.days_overdue,
                        "message": flagged.message_zh})
    return sorted(out, key=lambda s: (s["update_due"], s["item_id"]))


def verify(session: Session, certificate_no: str, today: dt.date) -> dict:
    """DISC-2: who holds the certificate, for which body, valid or not and since when."""
    number = (certificate_no or "").strip().upper()
    # the issuance before a change of the same day, whichever arrived first (arrival order is not the history)
    records = session.scalars(select(CertificateRecord).where(CertificateRecord.certificate_no == number)
                              .order_by(CertificateRecord.since,
                                        case((CertificateRecord.reason == ISSUANCE_REASON, 0), else_=1),
                                        CertificateRecord.id)).all()
    events, officer = [], None
    for r in records:
        officer_row = current(session, "officer", r.officer_id, dt.date.max)
        info = officer_row.content if officer_row else {}
        officer = officer_row or officer
        events.append(CertificateEvent(number, CertificateState(r.state), r.since, info.get("name", ""),
                                       info.get("body_name", ""), info.get("enforcement_field", ""), r.expires_on))
    status = verify_certificate(number, events, today)
    body_id = (officer.content or {}).get("body_id") if officer else None
    return {"certificate_no": status.certificate_no, "found": status.found, "valid": status.valid,
            "status": status.status, "holder_name": status.holder_name, "body_name": status.body_name,
            "body_id": body_id, "enforcement_field": status.enforcement_field,
            "since": status.since.isoformat() if status.since else None, "checked_on": today.isoformat(),
            "history": [{"since": e.since.isoformat(), "status": e.state.label_zh} for e in events if e.since <= today]}


def bodies(session: Session, region_code: str | None = None) -> list[dict]:
    """Registered bodies (current names), for the portal's filter list."""
    grouped: dict[str, list[BeforeItem]] = defaultdict(list)
    for r in session.scalars(select(BeforeItem).where(BeforeItem.kind == "body")).all():
        grouped[r.item_id].append(r)
    latest = {k: in_force(vs, dt.date.max) for k, vs in grouped.items()}      # the newest name, future ones too
    out = [{"body_id": k, "name": v.content["name"], "region_code": v.region_code,
           "superior_body_id": (v.extra or {}).get("superior_body_id")}
           for k, v in latest.items() if v and (not region_code or region_covers(region_code, v.region_code))]
    return sorted(out, key=lambda b: (b["region_code"], b["name"]))
