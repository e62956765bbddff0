"""Gateway request contracts (marshmallow) and the route table the OpenAPI document is built from."""
from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import Schema, fields, validate


@dataclass(frozen=True)
class Route:
    method: str
    path: str             # werkzeug rule, e.g. /api/v1/cases/<case_id>/timeline
    roles: tuple          # () = public
    summary: str
    body: type | None = None
    success: int = 200
    tags: tuple = field(default_factory=tuple)


class ReviewOpinionRequest(Schema):
    """法制审核意见 (REV-4)."""

    opinion = fields.String(required=True, validate=validate.OneOf(("approve", "problems")))
    problems = fields.List(fields.String(validate=validate.Length(min=1, max=500)), load_default=list)
    approver_id = fields.String(load_default=None)


class PublicComplaintRequest(Schema):
    """投诉举报 filed on the portal (CMP-1). Field errors are shown to people, hence Chinese."""

    name = fields.String(load_default=None, validate=validate.Length(max=50, error="姓名过长"))
    phone = fields.String(required=True, validate=validate.Regexp(r"^1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$",
                                                                  error="请填写有效的手机或固定电话号码"),
                          error_messages={"required": "请填写联系电话"})
    region_code = fields.String(required=True, error_messages={"required": "请选择投诉所在地区"})
    body_id = fields.String(required=True, error_messages={"required": "请选择被投诉的执法机关"})
    officer_ids = fields.List(fields.String(), load_default=list)
    request = fields.String(required=True, validate=validate.Length(min=5, max=2000, error="诉求应为5至2000字"),
                            error_messages={"required": "请填写投诉请求"})
    facts = fields.String(required=True, validate=validate.Length(min=10, max=10000, error="事实和理由应为10至10000字"),
                          error_messages={"required": "请填写事实和理由"})
    against_private_enterprise = fields.Boolean(load_default=False)
