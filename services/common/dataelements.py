"""The SF/T 0052 mapping of the contracts (PLAT-7, issue 18): every field of every event, and what national
data element or code set it corresponds to — where that is known.

SF/T 0052 (行政执法综合管理监督信息系统数据元与代码集) is not available to this project, so no element
identifier is known and none is given here (an invented identifier would mislead the departmental systems that
code against it). What is defensible from the seeds and REQUIREMENTS is recorded: the data item the national
texts name (e.g. 003 §二(六): 执法机关、执法对象、执法类别、执法结论), and the national code set or standard the
field already follows (GB/T 2260 region codes, GB 11643 resident ID numbers, GB 32100 unified social credit codes,
the PLAT-5 action types of 003 §一(三), the PLAT-3 certificate states). Every other field is listed as
"no known element". docs/contracts/sft0052-mapping.md is generated from this (``zhifa contracts``);
tests/common/test_sft0052_mapping.py fails when a field of a contract is not in it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from marshmallow import Schema, fields

from services.common.events import CATALOGUE, EnvelopeSchema

NO_ELEMENT = "no known element"
IDENTIFIER = "unknown — SF/T 0052 text not available"


@dataclass(frozen=True)
class Element:
    name_zh: str        # the data item as the seeds / REQUIREMENTS name it
    code_set: str       # the national standard or code set the value follows ("" when none)
    source: str         # where the item is named


_ID = "suite identifier (issued by the sending system; no national code)"
# path → element, for every event that has the path (paths are the same item wherever they occur) …
COMMON: dict[str, Element] = {
    "region_code": Element("行政区划代码", "GB/T 2260 (6 digits; townships 9 digits)", "PLAT-1"),
    "body_id": Element("执法主体", _ID, "PLAT-2; 003 §二(六) 执法机关"),
    "case_id": Element("案件", _ID, "REC-1"),
    "occurred_at": Element("发生时间", "ISO 8601 / GB/T 7408 date-time with offset", "PLAT-7"),
    "action_type": Element("执法类别（执法行为类型）", "PLAT-5 codes: 行政处罚、行政许可、行政强制、行政检查、行政征收、行政征用、"
                           "行政给付、行政确认、行政裁决、行政补偿、行政奖励", "PLAT-5; 003 §一(三)"),
    "matter_code": Element("行政执法事项（权责清单事项）编码", "the body's published catalogue (no national code known)",
                           "PLAT-4; 000 §三(二)"),
    "decision_no": Element("执法决定文书号", "", "DISC-3; 003 §二(六)"),
    "legal_basis": Element("执法依据", "", "DISC-1, DISC-3; 003 §二(五)"),
    "category": Element("执法类别（案由）", "", "DISC-3; 003 §二(六)"),
    "conclusion": Element("执法结论", "", "DISC-3; 003 §二(六)"),
    "facts": Element("违法事实", "", "DISC-3"),
    "fine_amount": Element("罚款金额", "yuan, 2 decimals", "REV-1, DISC-7"),
    "confiscation_amount": Element("没收违法所得、非法财物金额", "yuan, 2 decimals", "REV-1"),
    "decided_at": Element("决定日期", "ISO 8601 / GB/T 7408", "DISC-3"),
    "parties[].party_kind": Element("执法对象（当事人）类别", "自然人 natural · 法人 legal · 其他组织 other", "DISC-3; PLAT-8"),
    "parties[].name": Element("执法对象（当事人）名称", "", "003 §二(六) 执法对象"),
    "parties[].id_type": Element("当事人证件类型", "resident_id (GB 11643) · uscc (GB 32100) · other", "PLAT-8"),
    "parties[].id_number": Element("当事人证件号码", "GB 11643 公民身份号码 (check digit) / GB 32100 统一社会信用代码 "
                                   "(check character)", "PLAT-8"),
    "officer_id": Element("执法人员", _ID, "PLAT-3"),
    "officer_ids": Element("执法人员", _ID, "PLAT-3"),
    "certificate_no": Element("执法证件号", "the issuing authority's certificate number", "PLAT-3; DISC-1"),
    "superior_body_id": Element("上级主管部门", _ID, "PLAT-2; 000 §六(一)"),
    "entrusting_body_id": Element("委托机关", _ID, "PLAT-2; 000 §三(三)"),
    "entrustment_basis": Element("委托依据", "", "PLAT-2; 000 §三(三)"),
    "management": Element("管理体制", "local · vertical 垂直管理 · dual 双重管理", "PLAT-2; 000 §六(一)"),
    "hearing_requested": Element("当事人要求听证", "", "REV-1"),
    "hearing_held": Element("经过听证程序", "", "REV-1"),
    "published_on": Element("公示日期", "ISO 8601 / GB/T 7408", "DISC-3"),
}
# … and items whose name means different things in different events: (event type, path) → element
BY_EVENT: dict[tuple[str, str], Element] = {
    ("body.registered", "name"): Element("执法主体名称", "", "PLAT-2; DISC-1"),
    ("body.registered", "kind"): Element("执法主体类别", "department 行政机关 · authorised_org 法律法规授权组织 · "
                                         "entrusted_org 受委托组织", "PLAT-2; 000 §三(三)"),
    ("officer.registered", "name"): Element("执法人员姓名", "", "PLAT-3; DISC-1"),
    ("certificate.status_changed", "status"): Element("执法证件状态", "valid 有效 · suspended 暂扣 · withdrawn 收回 · "
                                                      "cancelled 注销", "PLAT-3"),
    ("power.published", "name"): Element("行政执法事项名称", "", "PLAT-4"),
}


def _walk(schema: Schema, prefix: str = "") -> Iterator[str]:
    for name, field in schema.fields.items():
        key = field.data_key or name
        path = f"{prefix}{key}"
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            nested = inner.schema
            suffix = "[]." if isinstance(field, fields.List) else "."
            yield from _walk(nested, path + suffix)
        else:
            yield path


def rows() -> Iterator[tuple[str, str, Element | None]]:
    """(where, path, element or None) for the envelope and every event's payload, in catalogue order."""
    for path in _walk(EnvelopeSchema()):
        if path != "payload":
            yield "envelope", path, COMMON.get(path)
    for event_type in sorted(CATALOGUE):
        for path in _walk(CATALOGUE[event_type].schema()):
            yield event_type, f"payload.{path}", BY_EVENT.get((event_type, path)) or COMMON.get(path)


def markdown() -> str:
    lines = ["# SF/T 0052 data-element mapping of the contracts (PLAT-7)", "",
             "Generated from `services/common/dataelements.py` by `zhifa contracts` (`make contracts`); do not edit.", "",
             "SF/T 0052 (行政执法综合管理监督信息系统数据元与代码集) is the national data standard for enforcement "
             "supervision systems. Its text is not available to this project: **no SF/T 0052 element identifier is "
             "known, and none is given** (an invented one would mislead systems coding against it). For each field the "
             "table gives what is defensible — the data item the national texts name and the national code set or "
             f"standard the value follows, with where it is named — and says **{NO_ELEMENT}** where there is none "
             "(transport fields, the suite's own workflow, hashes and signatures). A deployment that holds the "
             "standard fills in the identifiers in `dataelements.py`.", ""]
    mapped = sum(1 for _, _, e in rows() if e)
    total = sum(1 for _ in rows())
    lines += [f"{mapped} of {total} fields map to a known data item; {total - mapped} have {NO_ELEMENT}.", "",
              "| contract | field | data item (数据元) | code set / standard | named in | SF/T 0052 identifier |",
              "|---|---|---|---|---|---|"]
    for where, path, e in rows():
        if e is None:
            lines.append(f"| `{where}` | `{path}` | {NO_ELEMENT} | | | |")
        else:
            lines.append(f"| `{where}` | `{path}` | {e.name_zh} | {e.code_set or '—'} | {e.source} | {IDENTIFIER} |")
    return "\n".join(lines) + "\n"
