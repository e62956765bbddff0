"""Records routes (全过程记录, REC): timelines, searches, proofs, attachments, completeness,
corrections of sealed cases, access supervision, erasure of personal data.

Who may do what:
- staff reads of case records (officer, legal_reviewer, supervisor, admin) are scoped by region AND body (SEC-2) in the
  records service and LOGGED there (REC-6): who, role, purpose, when. Every read but the timeline
  requires a ``purpose`` query parameter (调阅事由); the timeline view defaults to "办案查阅".
- signed tree heads, consistency proofs and inclusion proofs by leaf hash are PUBLIC: they carry
  sizes, hashes and signatures only — no entry content, no personal data (docs/records-verification.md).
  An inclusion proof WITH the entry (case id, body, officers, document types, times) is staff-only.
- corrections of sealed cases: supervisor; erasure after retention: admin; uploads: department or staff.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from werkzeug.wrappers import Response

from services.common import ownership
from services.common.blobs import ATTACHMENT_MEDIA_TYPES, max_record_blob_bytes
from services.common.catalogue.fields import STAGES
from services.common.events import make_envelope, parse_event
from services.common.identifiers import is_region_code
from services.common.rpc import call
from services.gateway import pages
from services.gateway.edge import correlation_id
from services.gateway.http import STAFF_READ, HttpError, endpoint, read_json

SUPERVISION = ("supervisor", "admin")
UPLOADERS = ("department", "officer", "legal_reviewer", "supervisor", "admin")
DEFAULT_TIMELINE_PURPOSE = "办案查阅（案件时间线）"
RPC_TIMEOUT = 30.0
# media types an attachment may be served with (as a download); anything else is application/octet-stream
SAFE_BLOB_TYPES = ATTACHMENT_MEDIA_TYPES


class WitnessResolution(Schema):
    note = fields.String(required=True, validate=validate.Length(min=4, max=2000))


class PartySearchRequest(Schema):
    purpose = fields.String(required=True, validate=validate.Length(min=2, max=200))
    id_number = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    party_kind = fields.String(load_default=None, validate=validate.OneOf(("natural", "legal", "other")))
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=200))

    @validates_schema
    def _identifier(self, data, **_):
        if not data.get("id_number") and not (data.get("party_kind") and data.get("name")):
            raise ValidationError("须提供证件号码，或当事人类型和名称", field_name="id_number")


class CorrectionRecord(Schema):
    stage = fields.String(required=True, validate=validate.OneOf(STAGES))
    record_kind = fields.String(required=True, validate=validate.OneOf(
        ("text", "photo", "audio", "video", "body_worn_camera", "surveillance", "electronic_data")))
    document_type = fields.String(load_default=None, validate=validate.Length(max=64))
    title = fields.String(load_default=None, validate=validate.Length(max=300))
    content_hash = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    officer_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list)
    recorded_at = fields.String(load_default=None)
    covers = fields.String(load_default=None, validate=validate.Length(max=64))


class CorrectionRequest(Schema):
    """经监督人员授权的更正 (REC-5): appended to the log, never overwriting; says what it corrects."""

    reason = fields.String(required=True, validate=validate.Length(min=4, max=1000))
    refused_event_id = fields.String(load_default=None, validate=validate.Length(max=64))
    corrects_sequence = fields.Integer(load_default=None, validate=validate.Range(min=0))
    record = fields.Nested(CorrectionRecord, load_default=None)

    @validates_schema
    def _target(self, data, **_):
        if not (data.get("refused_event_id") or data.get("record") or data.get("corrects_sequence") is not None):
            raise ValidationError("须说明更正的对象：被拒收的记录、补录的记录或更正的条目序号", field_name="reason")


class TransferRequest(Schema):
    """指定管辖 / 管辖变更 by a supervisor (SEC-2): the case passes from the body that owns it now to another."""

    from_body_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    from_region_code = fields.String(required=True, validate=is_region_code, error_messages={
        "validator_failed": "不是有效的行政区划代码"})
    to_body_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    to_region_code = fields.String(required=True, validate=is_region_code, error_messages={
        "validator_failed": "不是有效的行政区划代码"})
    kind = fields.String(load_default="designation", validate=validate.OneOf(("designation", "jurisdiction_change")))
    reason = fields.String(required=True, validate=validate.Length(min=2, max=500))
    basis = fields.String(load_default=None, validate=validate.Length(max=500))


class ErasureRequest(Schema):
    basis = fields.String(required=True, validate=validate.Length(min=4, max=500))


class CaseFileDrawRequest(Schema):
    """案卷评查抽样 (REC-7): the year, the region (default: the caller's) and the public random value seeding it."""

    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    region_code = fields.String(load_default=None, validate=is_region_code,
                                error_messages={"validator_failed": "不是有效的行政区划代码"})
    public_value = fields.String(required=True, validate=validate.Length(min=1, max=200))


class CaseFileAssignRequest(Schema):
    review_id = fields.String(required=True, validate=validate.Length(min=1, max=160))
    reviewer = fields.String(required=True, validate=validate.Length(min=1, max=255))
    reviewer_body_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class CaseFileMark(Schema):
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100))
    reason = fields.String(load_default=None, validate=validate.Length(max=1000))


class CaseFileScoreRequest(Schema):
    review_id = fields.String(required=True, validate=validate.Length(min=1, max=160))
    items = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=64)), values=fields.Nested(CaseFileMark),
                        required=True)


def _accessor(identity, purpose: str | None, default: str | None = None, request=None) -> dict:
    stated = bool(purpose and purpose.strip())
    if not stated and default is None:
        raise HttpError(400, "purpose_required", "调阅记录须说明事由：请在查询参数 purpose 中填写调阅目的（REC-6）")
    text = (purpose or default).strip()
    if len(text) > 200:
        raise HttpError(422, "invalid", "调阅事由过长（最多200字）")
    accessor = {"subject": identity.subject, "role": identity.role, "region_code": identity.region_code,
                "purpose": text, "purpose_stated": stated}
    if request is not None:   # REC-6 entries name the request; its audit entries (SEC-3) carry the same id
        accessor["request_id"] = correlation_id(request.environ)
    return accessor


class BlobStreamBroken(Exception):
    """A streamed attachment could not be completed (the response is broken off before its length)."""


def _answer(result, not_found: str):
    if result is None:
        raise HttpError(404, "not_found", not_found)
    if isinstance(result, dict) and isinstance(result.get("error"), dict):
        err = result["error"]
        raise HttpError(err["status"], err["code"], err["message"])
    return result


def _int_arg(request, name, default=None, minimum=0):
    value = request.args.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise HttpError(422, "invalid", f"{name} 应为整数") from None
    if number < minimum:
        raise HttpError(422, "invalid", f"{name} 不能小于 {minimum}")
    return number


class RecordsRoutes:
    # -- ownership (SEC-2) --------------------------------------------------------------------------
    @endpoint("POST", "/api/v1/cases/<case_id>/transfer", roles=SUPERVISION, body=TransferRequest, success=202,
              tags=("records",), summary="A supervisor designates another body for a case (指定管辖, SEC-2): "
                                         "case.transferred on the owner's behalf")
    def transfer_case(self, request, identity, case_id):
        body = read_json(request, TransferRequest)
        scope = identity.scope    # both bodies, not only both regions (SEC-2: a narrowed supervisor too)
        if not (scope.covers(body["from_region_code"], body["from_body_id"])
                and scope.covers(body["to_region_code"], body["to_body_id"])):
            raise HttpError(403, "out_of_scope", "指定管辖须由两机关共同的上级监督机构作出（执法主体不在您的管辖范围内）")
        current = call(self.records, "case_owner", case_id)
        owner = current["body_id"] if current else (
            body["from_body_id"] if ownership.in_namespace(body["from_body_id"], case_id) else None)
        if owner != body["from_body_id"]:
            raise HttpError(409, "not_owner", f"案件 {case_id} 当前不属于执法主体 {body['from_body_id']}"
                                              + (f"（现属 {owner}）" if owner else ""))
        raw = make_envelope("case.transferred", {
            "to_body_id": body["to_body_id"], "to_region_code": body["to_region_code"], "kind": body["kind"],
            "reason": body["reason"], "basis": body["basis"], "ordered_by": identity.subject},
            source_system="zhifa.gateway", region_code=body["from_region_code"], body_id=body["from_body_id"],
            case_id=case_id)
        return self._publish_departmental(raw, parse_event(raw))

    # -- timeline and searches (REC-1, REC-4, REC-6) ---------------------------------------------
    @endpoint("GET", "/api/v1/cases/<case_id>/timeline", roles=STAFF_READ, tags=("records",),
              summary="A case's full-process record timeline (REC-1, REC-5); the read is logged (REC-6); "
                      "optional ?purpose=")
    def case_timeline(self, request, identity, case_id):
        accessor = _accessor(identity, request.args.get("purpose"), DEFAULT_TIMELINE_PURPOSE, request=request)
        return _answer(call(self.records, "case_timeline", case_id, identity.scope.as_dict(), accessor),
                       f"案件 {case_id} 不存在或不在您的管辖范围内")

    @endpoint("GET", "/api/v1/records/entries", roles=STAFF_READ, tags=("records",),
              summary="Record entries by region_code, body_id, stage, from/to period, case_id (?purpose= required; "
                      "each case read is logged)")
    def search_records(self, request, identity):
        accessor = _accessor(identity, request.args.get("purpose"), request=request)
        region = request.args.get("region_code")
        if region and not is_region_code(region):
            raise HttpError(422, "invalid", "region_code 不是有效的行政区划代码")
        stage = request.args.get("stage")
        if stage and stage not in STAGES:
            raise HttpError(422, "invalid", f"stage 应为 {', '.join(STAGES)} 之一")
        for name in ("from", "to"):
            if request.args.get(name):
                try:
                    dt.datetime.fromisoformat(request.args[name])
                except ValueError:
                    raise HttpError(422, "invalid", f"{name} 应为ISO 8601日期或时间，如 2026-01-01") from None
        filters = {"region_code": region, "body_id": request.args.get("body_id"), "stage": stage,
                   "from": request.args.get("from"), "to": request.args.get("to"),
                   "case_id": request.args.get("case_id"), "limit": _int_arg(request, "limit", 100, 1),
                   "after": _int_arg(request, "after")}
        return _answer(call(self.records, "search_entries", identity.scope.as_dict(), filters, accessor,
                            timeout=RPC_TIMEOUT), "")

    @endpoint("POST", "/api/v1/records/party-search", roles=STAFF_READ, tags=("records",), body=PartySearchRequest,
              summary="All records of one party (REC-4), by id number or kind + name in the body (not the URL); logged")
    def party_records(self, request, identity):
        body = read_json(request, PartySearchRequest)
        accessor = _accessor(identity, body["purpose"], request=request)
        party = {"id_number": body.get("id_number"), "party_kind": body.get("party_kind"), "name": body.get("name")}
        return _answer(call(self.records, "party_records", identity.scope.as_dict(), party, accessor,
                            timeout=RPC_TIMEOUT), "")

    # -- proofs (REC-4) ---------------------------------------------------------------------------
    @endpoint("GET", "/api/v1/records/entries/<int:sequence>/proof", roles=STAFF_READ, tags=("records",),
              summary="Inclusion proof bundle of one entry with its canonical public part (?purpose=, ?tree_size=)")
    def entry_proof(self, request, identity, sequence):
        accessor = _accessor(identity, request.args.get("purpose"), request=request)
        result = call(self.records, "inclusion_proof", sequence, identity.scope.as_dict(), accessor,
                      _int_arg(request, "tree_size", None, 1))
        return _answer(result, f"序号 {sequence} 的条目不存在或不在您的管辖范围内")

    @endpoint("GET", "/api/v1/cases/<case_id>/proofs", roles=STAFF_READ, tags=("records",),
              summary="Inclusion proof bundles of every entry of a case against one signed tree head (?purpose=)")
    def case_proofs(self, request, identity, case_id):
        accessor = _accessor(identity, request.args.get("purpose"), request=request)
        result = call(self.records, "case_proofs", case_id, identity.scope.as_dict(), accessor, timeout=RPC_TIMEOUT)
        return _answer(result, f"案件 {case_id} 不存在或不在您的管辖范围内")

    @endpoint("GET", "/api/v1/public/records/tree-head", tags=("records", "public"),
              summary="Latest signed tree head of the records log and its public key (public)")
    def latest_tree_head(self, request, identity):
        result = call(self.records, "tree_heads", 1, True)
        result["tree_head"] = result["tree_heads"][0] if result["tree_heads"] else None
        del result["tree_heads"]
        return result

    @endpoint("GET", "/api/v1/public/records/tree-heads", tags=("records", "public"),
              summary="Signed tree heads, newest first (?limit=; ?consistency=1 adds a consistency proof from "
                      "each to the newest, for tools/audit_verify.py; public)")
    def tree_heads(self, request, identity):
        return _answer(call(self.records, "tree_heads", _int_arg(request, "limit", 20, 1), False,
                            request.args.get("consistency") in ("1", "true")), "")

    @endpoint("GET", "/api/v1/public/records/witnessed-heads", tags=("records", "public"),
              summary="Signed tree heads of lower-tier suites witnessed here, with their status (accepted, pending, "
                      "forked, refused) (?log_id=, ?status=, ?conflicts=1 for forks; public)")
    def witnessed_heads(self, request, identity):
        return {"heads": call(self.records, "witnessed_heads", request.args.get("log_id"),
                              request.args.get("conflicts") in ("1", "true"), _int_arg(request, "limit", 100, 1),
                              request.args.get("status"))}

    @endpoint("GET", "/api/v1/public/records/witness", tags=("records", "public"),
              summary="The witness's state of each lower-tier log: newest witnessed head, pinned key, fork alarm "
                      "and its resolutions (?log_id=; public)")
    def witness_logs(self, request, identity):
        return {"logs": call(self.records, "witness_logs", request.args.get("log_id"))}

    @endpoint("POST", "/api/v1/admin/records/witness/<log_id>/resolve", roles=("admin",), tags=("records",),
              body=WitnessResolution,
              summary="Clear a witnessed log's fork alarm after the restore procedure; the next head is the new "
                      "anchor (admin; docs/RUNBOOK.md#restore-from-backup)")
    def resolve_witness_fork(self, request, identity, log_id):
        body = read_json(request, WitnessResolution)
        return _answer(call(self.records, "resolve_witness_fork", log_id, identity.subject, body["note"],
                            identity.region_code), "")

    @endpoint("GET", "/api/v1/public/records/province-witness", tags=("records", "public"),
              summary="At a city: what the province witnessed of this suite's log (newest head, fork alarm; public)")
    def province_witness(self, request, identity):
        return {"province_witness": call(self.records, "province_witness")}

    @endpoint("GET", "/api/v1/public/records/consistency", tags=("records", "public"), limit="proof",
              summary="Consistency proof between two signed tree heads (?old_size=, ?new_size=; public)")
    def consistency(self, request, identity):
        old = _int_arg(request, "old_size")
        if old is None:
            raise HttpError(422, "invalid", "须提供 old_size")
        return _answer(call(self.records, "consistency_proof", old, _int_arg(request, "new_size")),
                       "没有该条目数的签名树头")

    @endpoint("GET", "/api/v1/public/records/inclusion", tags=("records", "public"), limit="proof",
              summary="Inclusion proof of a leaf hash, without entry content (?leaf_hash=; public)")
    def public_inclusion(self, request, identity):
        leaf = (request.args.get("leaf_hash") or "").lower()
        if len(leaf) != 64 or any(c not in "0123456789abcdef" for c in leaf):
            raise HttpError(422, "invalid", "leaf_hash 应为64位十六进制SM3摘要")
        return _answer(call(self.records, "public_inclusion", leaf), "日志中没有该叶哈希")

    @endpoint("POST", "/api/v1/admin/records/tree-heads", roles=("admin",), tags=("records",), success=201,
              summary="Sign a tree head for the current log now (admin)")
    def sign_tree_head(self, request, identity):
        return _answer(call(self.records, "sign_tree_head"), "日志为空")

    # -- attachments -----------------------------------------------------------------------------
    @endpoint("POST", "/api/v1/records/blobs", roles=UPLOADERS, tags=("records",), success=201,
              summary="Upload an attachment (raw bytes); returns its SM3 content hash to reference in evidence.recorded")
    def upload_blob(self, request, identity):
        limit = max_record_blob_bytes()
        if request.content_length is None:
            raise HttpError(411, "length_required", "须提供 Content-Length")
        if request.content_length > limit:
            raise HttpError(413, "too_large", f"附件超过 {limit} 字节")
        data = request.get_data(cache=False)
        if not data:
            raise HttpError(422, "empty", "附件内容为空")
        media_type = (request.mimetype or "application/octet-stream")[:128]
        result = call(self.records, "put_blob", base64.b64encode(data).decode("ascii"), media_type,
                      identity.subject, identity.scope.as_dict(), timeout=RPC_TIMEOUT)
        return _answer(result, "")

    @endpoint("GET", "/api/v1/records/blobs/<content_hash>", roles=STAFF_READ, tags=("records",),
              summary="Download an attachment (checked against its SM3 hash; ?purpose= required; logged)")
    def download_blob(self, request, identity, content_hash):
        accessor = _accessor(identity, request.args.get("purpose"), request=request)
        scope = identity.scope.as_dict()
        meta = _answer(call(self.records, "get_blob", content_hash, scope, accessor, timeout=RPC_TIMEOUT),
                       "附件不存在或不在您的管辖范围内")
        records, size = self.records, int(meta["size"])

        def body():
            """Issue 20: streamed a chunk at a time (records reads 1 MiB per call, the gateway holds one);
            the SM3 of what was sent is checked at the end — a mismatch breaks the response off before its
            Content-Length, so the client never takes a damaged file for a whole one."""
            digest, offset = hashlib.new("sm3"), 0
            while offset < size:
                part = call(records, "get_blob_chunk", content_hash, offset, scope, accessor, timeout=RPC_TIMEOUT)
                if not isinstance(part, dict) or "data_b64" not in part:
                    raise BlobStreamBroken(f"attachment {content_hash}: chunk at {offset} refused: {part!r}")
                data = base64.b64decode(part["data_b64"])
                if not data:
                    raise BlobStreamBroken(f"attachment {content_hash} ended at {offset} of {size} bytes")
                digest.update(data)
                offset += len(data)
                yield data
            if offset != size or digest.hexdigest() != content_hash:   # transport check, end to end
                raise BlobStreamBroken(f"attachment {content_hash} does not match its SM3 hash after transport")

        # SEC-5: always a download, never rendered inline in the gateway's origin; the uploader's media
        # type is kept only when it is on the allow-list (nosniff is on every response)
        media_type = meta["media_type"] if meta["media_type"] in SAFE_BLOB_TYPES else "application/octet-stream"
        return Response(body(), status=200, mimetype=media_type, direct_passthrough=True,
                        headers={"X-Content-SM3": content_hash, "Cache-Control": "no-store",
                                 "Content-Length": str(size),
                                 "Content-Disposition": f'attachment; filename="{content_hash}{SAFE_BLOB_TYPES.get(media_type, ".bin")}"'})

    # -- completeness (REC-3, REC-5, REC-7) --------------------------------------------------------
    @endpoint("GET", "/api/v1/cases/<case_id>/gaps", roles=STAFF_READ, tags=("records",),
              summary="Open gaps of a case file (completeness rules, mandatory audio-visual records)")
    def case_gaps(self, request, identity, case_id):
        return _answer(call(self.records, "case_gaps", case_id, identity.scope.as_dict(), False),
                       f"案件 {case_id} 不存在或不在您的管辖范围内")

    @endpoint("POST", "/api/v1/cases/<case_id>/gaps/evaluate", roles=STAFF_READ, tags=("records",),
              summary="Evaluate a case file now, up to its current stage; emits record.gaps_found if gaps changed")
    def evaluate_gaps(self, request, identity, case_id):
        return _answer(call(self.records, "case_gaps", case_id, identity.scope.as_dict(), True),
                       f"案件 {case_id} 不存在或不在您的管辖范围内")

    # -- sealed cases (REC-5) ----------------------------------------------------------------------
    @endpoint("GET", "/api/v1/records/refusals", roles=SUPERVISION, tags=("records",),
              summary="Records refused because their case was sealed (?case_id=, ?open=1 for not yet corrected)")
    def refusals(self, request, identity):
        return call(self.records, "list_refusals", identity.scope.as_dict(), request.args.get("case_id"),
                    request.args.get("open") in ("1", "true"), _int_arg(request, "limit", 100, 1))

    @endpoint("POST", "/api/v1/cases/<case_id>/corrections", roles=("supervisor",), tags=("records",),
              body=CorrectionRequest, success=201,
              summary="Supervisor-authorised correction of a (sealed) case: appended, says what it corrects")
    def add_correction(self, request, identity, case_id):
        body = read_json(request, CorrectionRequest)
        return _answer(call(self.records, "add_correction", case_id, identity.scope.as_dict(), identity.subject, body),
                       f"案件 {case_id} 不存在或不在您的管辖范围内")

    # -- access supervision (REC-6) ----------------------------------------------------------------
    @endpoint("GET", "/api/v1/records/accesses", roles=SUPERVISION, tags=("records",),
              summary="Who read which case's records, when, in which role and why (?case_id=, ?subject=, ?before=)")
    def accesses(self, request, identity):
        return call(self.records, "list_accesses", identity.scope.as_dict(), request.args.get("case_id"),
                    request.args.get("subject"), _int_arg(request, "limit", 100, 1), _int_arg(request, "before"))

    # -- retention (REC-8) -------------------------------------------------------------------------
    @endpoint("POST", "/api/v1/admin/records/cases/<case_id>/erase-personal", roles=("admin",), tags=("records",),
              body=ErasureRequest, summary="Erase a case's personal data after its retention period (REC-8); "
                                           "proofs stay valid")
    def erase_personal(self, request, identity, case_id):
        body = read_json(request, ErasureRequest)
        return _answer(call(self.records, "erase_personal", case_id, identity.scope.as_dict(), identity.subject,
                            body["basis"], timeout=RPC_TIMEOUT), f"案件 {case_id} 不存在或不在您的管辖范围内")

    # -- page ---------------------------------------------------------------------------------------
    @endpoint("GET", "/records/verify", tags=("records", "public"),
              summary="How to verify the full-process record; the latest signed tree heads, the entries no head "
                      "covers yet and the last self-check (public page)")
    def verify_page(self, request, identity):
        return pages.render("records/verify.html", **call(self.records, "verification_status", 5))

    # the auditor's script and the algorithm, served beside the page that names them (issue 19: the page gave
    # repository paths); the image copies both (deploy/compose/Dockerfile)
    @endpoint("GET", "/records/audit_verify.py", tags=("records", "public"),
              summary="The standalone auditor's script (tools/audit_verify.py, Python standard library), as text")
    def auditor_script(self, request, identity):
        return _repository_text("tools/audit_verify.py", "text/x-python")

    @endpoint("GET", "/records/verification.md", tags=("records", "public"),
              summary="How the full-process record is verified: hashes, tree heads, proofs (docs/records-verification.md)")
    def verification_algorithm(self, request, identity):
        return _repository_text("docs/records-verification.md", "text/plain")

    # -- case-file review (案卷评查, REC-7) ------------------------------------------------------------------
    def _case_file_review(self, identity, action, data):
        return _answer(call(self.records, "case_file_review", action, identity.scope.as_dict(), identity.subject,
                            data, timeout=RPC_TIMEOUT), "评查案卷不存在或不在您的范围内")

    @endpoint("POST", "/api/v1/records/case-file-reviews/draws", roles=SUPERVISION, tags=("records",),
              body=CaseFileDrawRequest, success=201,
              summary="Draw the year's sample of archived case files per body, seeded by a public value (REC-7)")
    def case_file_draw(self, request, identity):
        return self._case_file_review(identity, "draw", read_json(request, CaseFileDrawRequest))

    @endpoint("GET", "/api/v1/records/case-file-reviews/draws/<int:year>", roles=SUPERVISION, tags=("records",),
              query={"region_code": {"type": "string", "pattern": "^[0-9]{6}([0-9]{3})?$"}},
              summary="A year's case-file draw with everything needed to recompute it, and its reviews (REC-7)")
    def case_file_draw_view(self, request, identity, year):
        return self._case_file_review(identity, "get_draw", {"year": year,
                                                             "region_code": request.args.get("region_code")})

    @endpoint("POST", "/api/v1/records/case-file-reviews/assignments", roles=SUPERVISION, tags=("records",),
              body=CaseFileAssignRequest,
              summary="Assign a drawn case file to a reviewer who does not work for its body (REC-7)")
    def case_file_assign(self, request, identity):
        return self._case_file_review(identity, "assign", read_json(request, CaseFileAssignRequest))

    @endpoint("GET", "/api/v1/records/case-file-reviews/assigned", roles=STAFF_READ, tags=("records",),
              summary="The case files assigned to the caller for review, with their score sheets (REC-7)")
    def case_file_assigned(self, request, identity):
        return self._case_file_review(identity, "assigned_to_me", {})

    @endpoint("POST", "/api/v1/records/case-file-reviews/scores", roles=STAFF_READ, tags=("records",),
              body=CaseFileScoreRequest,
              summary="The assigned reviewer scores a case file; the result goes to evaluation (REC-7)")
    def case_file_score(self, request, identity):
        return self._case_file_review(identity, "score", read_json(request, CaseFileScoreRequest))

    @endpoint("GET", "/api/v1/records/case-file-reviews/weak-links", roles=SUPERVISION, tags=("records",),
              query={"year": {"type": "integer", "minimum": 2000, "maximum": 2100},
                     "region_code": {"type": "string", "pattern": "^[0-9]{6}([0-9]{3})?$"}},
              summary="Weak links of the case-file review: which items fail most, by body and action type (REC-7)")
    def case_file_weak_links(self, request, identity):
        year = request.args.get("year", type=int) or dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).year
        return self._case_file_review(identity, "weak_links", {"year": year,
                                                               "region_code": request.args.get("region_code")})


def _repository_text(relative: str, media: str) -> Response:
    """A file of the source tree as UTF-8 text (shown in the browser; nosniff is set for every answer)."""
    from services.common.settings import ROOT

    path = ROOT / relative
    if not path.is_file():
        raise HttpError(404, "not_found", "该文件未随本平台部署")
    return Response(path.read_bytes(), headers={"Content-Type": f"{media}; charset=utf-8",
                                                 "Cache-Control": "public, max-age=3600"})
