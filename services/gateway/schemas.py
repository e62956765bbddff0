"""Gateway request contracts (marshmallow) and the route table the OpenAPI document is built from."""
from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import Schema, fields, validate

# identifiers and region codes as the event catalogue has them (services/common/catalogue/fields.py):
# what a request carries into an emitted event must pass that event's schema (issue 14: officer_ids
# [""] made POST /api/v1/evaluation/cases emit an invalid event — a 502)
IDENT = validate.Length(min=1, max=64)
REGION = validate.Regexp(r"^[1-9]\d{5}(\d{3})?$", error="行政区划代码应为6位或9位数字")


@dataclass(frozen=True)
class Route:
    """One HTTP operation, as the OpenAPI document (services/gateway/openapi.py) describes it and the
    gateway validates it."""

    method: str
    path: str             # werkzeug rule, e.g. /api/v1/cases/<case_id>/timeline
    roles: tuple          # () = public
    summary: str
    body: type | None = None          # marshmallow schema of the JSON body
    success: int = 200
    tags: tuple = field(default_factory=tuple)
    query: dict | None = None         # query parameters: name -> JSON Schema (+ "required", "description")
    response: dict | type | None = None   # JSON Schema (or marshmallow schema) of the success body
    media: str = "application/json"   # content type of the success body
    body_optional: bool = False       # the JSON body may be left out (every field has a default)
    form: dict | None = None          # JSON Schema of a form body (pages)
    files: bool = False               # the form is multipart/form-data (attachments)
    raw_body: bool = False            # any bytes (uploads)
    redirects: bool = False           # may answer 3xx (sign-in, after a form)
    handler: str = ""                 # the method's name (operationId)

    def __hash__(self):
        return hash((self.method, self.path))


class PublicComplaintRequest(Schema):
    """投诉举报 filed on the portal (CMP-1). Field errors are shown to people, hence Chinese."""

    name = fields.String(load_default=None, validate=validate.Length(max=50, error="姓名过长"))
    phone = fields.String(required=True, validate=validate.Regexp(r"^1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$",
                                                                  error="请填写有效的手机或固定电话号码"),
                          error_messages={"required": "请填写联系电话"})
    region_code = fields.String(required=True, validate=validate.Regexp(r"^[1-9]\d{5}(\d{3})?$",
                                                                        error="请选择有效的地区"),
                                error_messages={"required": "请选择投诉所在地区"})
    body_id = fields.String(required=True, validate=validate.Length(min=1, max=64, error="请选择被投诉的执法机关"),
                            error_messages={"required": "请选择被投诉的执法机关"})
    officer_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64, error="执法人员编号过长")),
                              load_default=list)
    request = fields.String(required=True, validate=validate.Length(min=5, max=2000, error="诉求应为5至2000字"),
                            error_messages={"required": "请填写投诉请求"})
    facts = fields.String(required=True, validate=validate.Length(min=10, max=10000, error="事实和理由应为10至10000字"),
                          error_messages={"required": "请填写事实和理由"})
    against_private_enterprise = fields.Boolean(load_default=False)
    id_number = fields.String(load_default=None, validate=validate.Regexp(
        r"^\d{17}[\dXx]$", error="居民身份证号码应为18位，前17位为数字，末位为数字或X"))
    address = fields.String(load_default=None, validate=validate.Length(max=300, error="通信地址过长"))
    case_id = fields.String(load_default=None, validate=validate.Length(max=64, error="案件编号过长"))
    about_officer_conduct = fields.Boolean(load_default=False)
    under_reconsideration_or_litigation = fields.Boolean(load_default=False)


# --- complaints (CMP): staff handling and public rating ----------------------------------------

class StaffComplaintRequest(PublicComplaintRequest):
    """A letter, e-mail, visit or call registered by a complaint handler (CMP-1)."""

    channel = fields.String(required=True, validate=validate.OneOf(
        ("letter", "email", "visit", "hotline_12345"), error="渠道应为 letter、email、visit 或 hotline_12345"))
    phone = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9+\-]{5,20}$",
                                                                      error="请填写有效的电话号码"))
    received_at = fields.AwareDateTime(load_default=None, error_messages={"invalid": "收到时间格式应为带时区的ISO时间"})
    external_ref = fields.String(load_default=None, validate=validate.Length(max=100))
    body_kind = fields.String(load_default=None, validate=validate.OneOf(
        ("department", "county_government", "authorised_org", "entrusted_org")))
    body_region_code = fields.String(load_default=None, validate=validate.Regexp(r"^[1-9]\d{5}(\d{3})?$",
                                                                                 error="地区代码无效"))
    other_bodies = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list)
    categories = fields.List(fields.String(validate=validate.Length(min=1, max=32)), load_default=list)


class ComplaintNoteRequest(Schema):
    """受理 (accept) with an optional internal note."""

    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class NotAcceptRequest(Schema):
    """不予受理: the reason is required (CMP-4); the service refuses a blank one with 422."""

    reason = fields.String(load_default=None, validate=validate.Length(max=2000, error="理由过长"))
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class ProgressRequest(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=2000, error="进展内容应为1至2000字"),
                         error_messages={"required": "请填写办理进展"})
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class ConcludeRequest(Schema):
    result = fields.String(required=True, validate=validate.Length(min=1, max=5000, error="办理结果应为1至5000字"),
                           error_messages={"required": "请填写办理结果"})
    upheld = fields.Boolean(required=True, error_messages={"required": "请认定投诉举报是否属实"})
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class TransferRequest(Schema):
    to_unit_id = fields.String(required=True, validate=validate.Length(min=1, max=64),
                               error_messages={"required": "请填写接收单位"})
    to_region_code = fields.String(required=True, error_messages={"required": "请填写接收单位的行政区划代码"},
                                   validate=validate.Regexp(r"^[1-9]\d{5}(\d{3})?$", error="接收单位的行政区划代码无效"))
    to_name = fields.String(load_default=None, validate=validate.Length(max=200))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                           error_messages={"required": "请说明转办理由"})


class TransferOrderRequest(Schema):
    """上级交办 from the province's supervision register (COORD-4); the complaints service checks the rest."""

    to_unit_id = fields.String(required=True, validate=validate.Length(min=1, max=64, error="请填写承办单位"),
                               error_messages={"required": "请填写承办单位"})
    to_region_code = fields.String(load_default=None, validate=validate.Regexp(
        r"^[1-9]\d{5}(\d{3})?$", error="承办单位的行政区划代码无效"))
    to_name = fields.String(load_default=None, validate=validate.Length(max=200, error="承办单位名称过长"))
    instruction = fields.String(required=True, validate=validate.Length(min=1, max=2000, error="交办意见应为1至2000字"),
                                error_messages={"required": "请填写交办意见"})
    due_working_days = fields.Integer(load_default=None, strict=True,
                                      error_messages={"invalid": "办理期限应为整数个工作日"})


class ExtendRequest(Schema):
    working_days = fields.Integer(required=True, error_messages={"required": "请填写延长的工作日数"})
    approved_by = fields.String(required=True, validate=validate.Length(min=1, max=100),
                                error_messages={"required": "须填写批准延期的负责人"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                           error_messages={"required": "请说明延期理由"})


class ScopeFindingRequest(Schema):
    in_scope = fields.Boolean(required=True, error_messages={"required": "请认定是否属于受理范围"})
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class ComplaintRatingRequest(Schema):
    """满意度评价 by the complainant (EVAL-7), with the query code instead of a login."""

    code = fields.String(required=True, error_messages={"required": "请填写查询码"})
    rating = fields.Integer(required=True, validate=validate.Range(min=1, max=5, error="满意度应为1至5分"),
                            error_messages={"required": "请选择满意度", "invalid": "满意度应为1至5分"})
    comment = fields.String(load_default=None, validate=validate.Length(max=500, error="评价内容过长"))


# --- evaluation (评议考核、责任追究, EVAL-*, COORD-4) ------------------------------------------------

class EvaluationScoreEntryRequest(Schema):
    """专项检查 / 案卷评查 (body) or 专门考核 (officer) score entered by a supervisor (EVAL-2, EVAL-3)."""

    kind = fields.String(required=True, validate=validate.OneOf(
        ("special_check_score", "case_file_review_score", "special_test_score")))
    body_id = fields.String(load_default=None, validate=IDENT)
    officer_id = fields.String(load_default=None, validate=IDENT)
    score = fields.Decimal(required=True, places=2, validate=validate.Range(min=0, max=100, error="得分应在0至100之间"))
    recorded_on = fields.Date(load_default=None)
    note = fields.String(load_default=None, validate=validate.Length(max=500))
    evaluator = fields.String(load_default=None, validate=validate.OneOf(("superior_department", "government")),
                              metadata={"description": "双重管理: which evaluator's check this is (EVAL-1)"})


class SurveyQuestion(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,31}$", error="题目代码应为小写字母、数字"))
    text = fields.String(required=True, validate=validate.Length(min=1, max=200))


class EvaluationSurveyRequest(Schema):
    """A survey (问卷调查) or evaluation card (评议卡) about a body, with its one-time answer codes (EVAL-2)."""

    kind = fields.String(load_default="survey", validate=validate.OneOf(("survey", "card")))
    body_id = fields.String(required=True, validate=IDENT)
    title = fields.String(load_default=None, validate=validate.Length(max=200))
    questions = fields.List(fields.Nested(SurveyQuestion), load_default=None, validate=validate.Length(min=1, max=20))
    codes = fields.Integer(load_default=None, validate=validate.Range(min=1, max=5000, error="答卷码数量应为1至5000"),
                           metadata={"description": "answer codes to hand out (a card: 1 by default)"})
    opens_on = fields.Date(load_default=None)
    closes_on = fields.Date(required=True)
    case_id = fields.String(load_default=None, validate=IDENT, metadata={"description": "a card: the case it is for"})
    officer_id = fields.String(load_default=None, validate=IDENT)


class EvaluationVisitRequest(Schema):
    """An unannounced visit (暗访) by a supervisor to a body's enforcement or service site (EVAL-2)."""

    body_id = fields.String(required=True, validate=IDENT)
    visited_on = fields.Date(required=True)
    place = fields.String(required=True, validate=validate.Length(min=1, max=300))
    findings = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    problems = fields.List(fields.String(validate=validate.Length(min=1, max=500)), load_default=list,
                           validate=validate.Length(max=50))
    score = fields.Decimal(required=True, places=2, validate=validate.Range(min=0, max=100, error="得分应在0至100之间"))
    evaluator = fields.String(load_default=None, validate=validate.OneOf(("superior_department", "government")),
                              metadata={"description": "双重管理: which evaluator's visit this is (EVAL-1)"})


class EvaluationFinaliseRequest(Schema):
    """Finalise a year's grades for the bodies the caller evaluates (EVAL-1, EVAL-4)."""

    region_code = fields.String(load_default=None, validate=REGION)


class EvaluationRecomputeRequest(Schema):
    """Run the year-to-date job now. No fields: the day is the suite's clock's — a caller-chosen
    ``as_of`` (once accepted) marked supervision items overdue for good (SEC-2); it is refused as unknown."""


class ConsequenceResolveRequest(Schema):
    """How a measure or a removal proposal was carried out (批评教育/离岗培训/调离执法岗位/取消执法资格)."""

    resolution = fields.String(required=True, validate=validate.Length(min=1, max=500))


class AccountabilityOpenRequest(Schema):
    """责任追究线索 opened by hand (EVAL-6)."""

    body_id = fields.String(required=True, validate=IDENT)
    region_code = fields.String(load_default=None, validate=REGION)
    source = fields.String(load_default="other", validate=validate.OneOf(
        ("review_bypassed", "disclosure_overdue", "record_gap", "av_missing", "complaint_upheld", "complaint_backtrack",
         "certificate_violation", "detection_rule", "supervision", "other")))
    description = fields.String(required=True, validate=validate.Length(min=2, max=2000))
    officer_ids = fields.List(fields.String(validate=IDENT), load_default=list, validate=validate.Length(max=50))
    source_event_ids = fields.List(fields.String(validate=IDENT), load_default=list, validate=validate.Length(max=100))


class SanctionRequest(Schema):
    target_kind = fields.String(required=True, validate=validate.OneOf(("body", "officer")))
    target_id = fields.String(required=True, validate=IDENT)
    kind = fields.String(required=True)  # SanctionKind name (e.g. CRITICISM_EDUCATION) or Chinese value
    note = fields.String(load_default="")


class AccountabilityActionRequest(Schema):
    """One step of an accountability case (EVAL-6); which fields matter depends on ``action``."""

    action = fields.String(required=True, validate=validate.OneOf(
        ("accept", "dismiss", "add_officer", "add_link", "close_no_violation", "propose", "submit_internal_review",
         "internal_review", "legal_review", "record_statement", "exempt", "decide", "close")))
    note = fields.String(load_default="")
    reason = fields.String(load_default="")
    officer_id = fields.String(load_default=None, validate=IDENT)
    stage = fields.String(load_default=None, validate=validate.Length(max=32))
    person_id = fields.String(load_default=None, validate=IDENT)
    role = fields.String(load_default="")
    act = fields.String(load_default="")
    findings = fields.String(load_default="")
    sanctions = fields.List(fields.Nested(SanctionRequest), load_default=list)
    approved = fields.Boolean(load_default=False)
    opinion = fields.String(load_default="")
    content = fields.String(load_default="")
    waived = fields.Boolean(load_default=False)
    grounds = fields.List(fields.String(), load_default=list)
    explanation = fields.String(load_default="")


class SupervisionIssueRequest(Schema):
    """监督建议 / 专项调查 / 整改 issued to a body in the caller's region (COORD-4)."""

    kind = fields.String(required=True, validate=validate.OneOf(("suggestion", "special_investigation", "rectification")))
    target_body_id = fields.String(required=True, validate=IDENT)
    target_region = fields.String(load_default=None, validate=REGION)
    issuer_region = fields.String(load_default=None, validate=REGION)
    subject = fields.String(required=True, validate=validate.Length(min=2, max=2000))
    working_days = fields.Integer(load_default=None, validate=validate.Range(min=1, max=250))
    case_id = fields.String(load_default=None, validate=IDENT)


class SupervisionActionRequest(Schema):
    action = fields.String(required=True, validate=validate.OneOf(("respond", "accept", "reject")))
    content = fields.String(load_default="")
    note = fields.String(load_default="")
    reason = fields.String(load_default="")
    extend_working_days = fields.Integer(load_default=None, validate=validate.Range(min=1, max=250))


# --- legal review (REV-3 … REV-6) — request bodies of services/gateway/routes/review.py ----------------

REVIEW_CHECK_CODES = ("body_lawful", "officers_qualified", "procedure_lawful", "facts_evidence", "law_discretion",
                      "within_authority", "documents_complete", "crime_transfer")


class ReviewCheckFinding(Schema):
    """审查意见 on one of the eight checks: pass 通过 / fail 不通过, with the finding."""

    code = fields.String(required=True, validate=validate.OneOf(REVIEW_CHECK_CODES))
    outcome = fields.String(required=True, validate=validate.OneOf(("pass", "fail")))
    finding = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReviewFindingsRequest(Schema):
    """Findings recorded on checklist items (REV-3)."""

    checks = fields.List(fields.Nested(ReviewCheckFinding), required=True, validate=validate.Length(min=1, max=8))


class ReviewDecisionRequest(Schema):
    """书面审核意见 (REV-4): approve 同意, or problems 存在问题 with the corrections required.

    ``problems`` is accepted as another name of ``corrections`` (the slice's field)."""

    opinion = fields.String(required=True, validate=validate.OneOf(("approve", "problems")))
    corrections = fields.List(fields.String(validate=validate.Length(min=1, max=500)), load_default=list)
    problems = fields.List(fields.String(validate=validate.Length(min=1, max=500)), load_default=list)
    text = fields.String(load_default=None, validate=validate.Length(max=4000))
    checks = fields.List(fields.Nested(ReviewCheckFinding), load_default=list, validate=validate.Length(max=8))
    approver_id = fields.String(load_default=None)


class ReviewSignOffRequest(Schema):
    """负责人签署 (REV-6): sign (approve) or refuse with the reasons. The approver is the signed-in
    responsible person; there is no field to name another (an ``approver_id`` is refused as unknown)."""

    approve = fields.Boolean(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    reasons = fields.List(fields.String(validate=validate.Length(min=1, max=500)), load_default=list)


class ReviewDisagreementRequest(Schema):
    """承办机构异议 (REV-5): the handling unit's position on a returned opinion."""

    position = fields.String(required=True, validate=validate.Length(min=2, max=4000))
    raised_by = fields.String(load_default=None, validate=validate.Length(min=1, max=64))


class ReviewCoordinationRequest(Schema):
    """协调结论 (REV-5)."""

    outcome = fields.String(required=True, validate=validate.OneOf(("uphold_reviewer", "accept_unit", "partial")))
    note = fields.String(load_default="", validate=validate.Length(max=4000))
    corrections_kept = fields.List(fields.String(validate=validate.Length(min=1, max=500)), load_default=list)
