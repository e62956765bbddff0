"""Shared pieces of the event catalogue: code sets, field helpers, value objects (PLAT-5, PLAT-7, PLAT-8)."""
from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.identifiers import is_region_code, validate_resident_id, validate_uscc

SCHEMA_MAJOR = 1
DEPARTMENTS = "departments"  # the pseudo-service name departmental systems publish as

ACTION_TYPES = (
    "penalty",        # 行政处罚
    "permit",         # 行政许可
    "coercive",       # 行政强制
    "inspection",     # 行政检查
    "levy",           # 行政征收
    "requisition",    # 行政征用
    "benefit",        # 行政给付
    "confirmation",   # 行政确认
    "adjudication",   # 行政裁决
    "compensation",   # 行政补偿
    "reward",         # 行政奖励
)  # PLAT-5
ACTION_TYPE_NAMES_ZH = {
    "penalty": "行政处罚", "permit": "行政许可", "coercive": "行政强制", "inspection": "行政检查",
    "levy": "行政征收", "requisition": "行政征用", "benefit": "行政给付", "confirmation": "行政确认",
    "adjudication": "行政裁决", "compensation": "行政补偿", "reward": "行政奖励",
}
#: 执法领域 — the enforcement fields departmental systems send as codes (the 综合行政执法 reform's list of
#: fields with their own enforcement teams); pages show the Chinese name (issue 19). Systems that send the
#: field in Chinese keep their text.
ENFORCEMENT_FIELD_NAMES_ZH = {
    "market_regulation": "市场监管", "ecology_environment": "生态环境", "urban_management": "城市管理",
    "comprehensive": "综合行政执法", "transport": "交通运输", "agriculture": "农业农村",
    "culture_tourism": "文化市场", "emergency_management": "应急管理", "natural_resources": "自然资源",
    "housing_construction": "住房城乡建设", "water_resources": "水利", "health": "卫生健康",
    "public_security": "公安", "taxation": "税务", "customs": "海关", "drug_regulation": "药品监管",
    "education": "教育", "human_resources": "人力资源社会保障", "forestry": "林业", "fisheries": "渔业",
    "commerce": "商务", "statistics": "统计", "fire_rescue": "消防救援", "medical_insurance": "医疗保障",
}


def enforcement_field_zh(value) -> str:
    """The Chinese name of an enforcement field (执法领域): a known code → its name; Chinese text as sent;
    an unknown code → 其他领域 (never the code itself on a page people read)."""
    text = "" if value is None else str(value).strip()
    if not text:
        return ""
    if text in ENFORCEMENT_FIELD_NAMES_ZH:
        return ENFORCEMENT_FIELD_NAMES_ZH[text]
    return "其他领域" if text.isascii() else text


STAGES = ("initiation", "investigation", "decision", "service_execution", "archiving")  # REC-1
RECORD_KINDS = ("text", "audio_visual", "electronic")  # REC-2, REC-3
CERTIFICATE_STATUSES = ("valid", "suspended", "withdrawn", "cancelled")  # PLAT-3

# --- field helpers ----------------------------------------------------------------------------

def _region_validator(value):
    if not is_region_code(value):
        raise ValidationError("不是有效的行政区划代码（GB/T 2260，6位或9位数字）")


def Ident(**kw):
    """An identifier chosen by the departmental system (case id, body id, …)."""
    return fields.String(validate=validate.Length(min=1, max=64), **kw)


Sm3Hex = lambda **kw: fields.String(  # noqa: E731 - a content hash: 64 lowercase hex characters
    validate=validate.Regexp(r"^[0-9a-f]{64}$", error="应为64位小写十六进制SM3摘要"), **kw)
Money = lambda **kw: fields.Decimal(places=2, as_string=True, validate=validate.Range(min=0), **kw)  # noqa: E731
Action = lambda **kw: fields.String(validate=validate.OneOf(ACTION_TYPES), **kw)  # noqa: E731


class StrictSchema(Schema):
    class Meta:
        ordered = True


# --- shared value objects ---------------------------------------------------------------------

class PartySchema(StrictSchema):
    """当事人: a natural person, a legal person or another organisation (PLAT-8 identifiers)."""

    party_id = Ident(load_default=None)
    party_kind = fields.String(required=True, validate=validate.OneOf(("natural", "legal", "other")))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    id_type = fields.String(load_default="other", validate=validate.OneOf(("resident_id", "uscc", "other")))
    id_number = fields.String(load_default=None, validate=validate.Length(max=64))
    phone = fields.String(load_default=None, validate=validate.Length(max=32))
    address = fields.String(load_default=None, validate=validate.Length(max=300))
    is_private_enterprise = fields.Boolean(load_default=False)

    @validates_schema
    def _check_identifier(self, data, **_):
        number, kind = data.get("id_number"), data.get("id_type")
        if not number:
            return
        error = {"resident_id": validate_resident_id, "uscc": validate_uscc}.get(kind, lambda _: None)(number)
        if error:
            raise ValidationError(error, field_name="id_number")


class FlagsSchema(StrictSchema):
    major_public_interest = fields.Boolean(load_default=False)   # 涉及重大公共利益
    social_risk = fields.Boolean(load_default=False)             # 可能造成重大社会影响或引发社会风险
    complex_legal_relations = fields.Boolean(load_default=False)  # 案件情况疑难复杂、涉及多个法律关系
    law_requires_review = fields.Boolean(load_default=False)     # 法律法规规定应当进行法制审核


@dataclass(frozen=True)
class EventType:
    name: str
    schema: type[Schema]
    emitter: str            # "departments" or a zhifa service name
    summary: str            # English, with the Chinese term
    needs_case: bool = False
    version: str = "1.0"


