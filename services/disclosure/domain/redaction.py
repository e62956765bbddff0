"""Redaction of decisions before publication (作适当处理) — DISC-4 (with DISC-3).

``redact_decision(decision)`` turns a :class:`~.model.Decision` into the public entry
(:class:`PublicEntry`) and an audit list of what was masked (kinds and counts, never values).

What is masked (rules in ``config/disclosure/redaction.yaml``, examples in docs/disclosure-rules.md):

- natural persons' names → surname + 某 (张三 → 张某, 欧阳娜娜 → 欧阳某), everywhere in the text,
  also the given name alone, and names after labels (姓名：X / 当事人X / 证人X / 法定代表人X /
  负责人X / 经营者X / 委托代理人X / 联系人X / 投资人X …) whoever the party is — a company's legal
  representative is masked like a natural party;
- resident ID numbers, 18-digit (GB 11643) and 15-digit → ``3201**********1234``;
- mobile numbers → ``138****5678``; landlines → area code kept, number masked;
- addresses → reduced to the county/district level (南京市鼓楼区某某路12号 → 南京市鼓楼区****);
- bank accounts/cards (12–19 digits) → last 4 kept; e-mail addresses; licence plates (optional).

Legal persons' and other organisations' names and unified social credit codes stay public.
Secrecy (涉密): state secret → withheld; commercial secret / personal privacy → summary only.
``assert_no_personal_data`` is the last line of defence before anything is published: besides the
parties' data it refuses any person-name-like token left in clear after a ``check_labels`` label
(法定代表人王建国…) — the publication is then held, not published (fails closed).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.common.configfile import load_config_file
from services.common.identifiers import validate_resident_id, validate_uscc

from .conclusions import ConclusionRules, classify_conclusion
from .model import CONFIG_DIR, Decision, IdType, Party, PartyKind, Secrecy

DEFAULT_REDACTION_FILE = CONFIG_DIR / "redaction.yaml"

_CJK = "\u4e00-\u9fff"
_PLACEHOLDER_OPEN, _PLACEHOLDER_CLOSE = "\ue000", "\ue001"
_DISAMBIGUATORS = "甲乙丙丁戊己庚辛壬癸"


# --- rules -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MaskSpec:
    keep_head: int
    keep_tail: int


@dataclass(frozen=True)
class RedactionRules:
    """Validated content of ``redaction.yaml``."""

    mask_char: str
    resident_id: MaskSpec
    resident_id_15: MaskSpec
    other_id: MaskSpec
    mobile: MaskSpec
    bank_account: MaskSpec
    address_rest: str
    mask_licence_plates: bool
    mask_given_name_alone: bool
    minor_policy: str  # "summary" | "withhold"
    field_labels: tuple[str, ...]
    role_labels: tuple[str, ...]
    fallback_labels: frozenset[str]
    name_end_words: tuple[str, ...]
    check_labels: tuple[str, ...]  # longest first: the last-defence check looks after these (DISC-4)
    not_person_words: tuple[str, ...]  # words that may follow a label and are no name
    title_words: tuple[str, ...]  # longest first: a title between a label and a name (负责人：总经理王建国)
    organisation_words: tuple[str, ...]  # an organisation's name, not a person's, follows the label
    public_number_labels: tuple[str, ...]
    name_followers: frozenset[str]
    ambiguous_surnames: frozenset[str]
    not_names: frozenset[str]
    compound_surnames: tuple[str, ...]  # longest first
    common_surnames: frozenset[str]
    address_keywords: tuple[str, ...]  # longest first
    street_words: tuple[str, ...]  # longest first
    not_divisions: tuple[str, ...]
    notices: dict[str, str]


_NOTICE_KEYS = ("state_secret", "commercial_secret", "personal_privacy", "minor_summary", "minor_withhold")


def _words(**kwargs) -> fields.List:
    return fields.List(fields.String(validate=validate.Length(min=1)), validate=validate.Length(min=1), **kwargs)


def _longest_first(values) -> tuple[str, ...]:
    return tuple(sorted(values, key=len, reverse=True))


@lru_cache(maxsize=128)
def _alternation(words: tuple[str, ...]) -> str:
    """``a|b|c`` of the escaped words, for a pattern. Cached by the rule file's word lists (issue 17:
    built again for every string inspected, ~1,000 ``re.escape`` per published decision)."""
    return "|".join(map(re.escape, words))


@lru_cache(maxsize=128)
def _pattern(template: str, *words: tuple[str, ...]) -> re.Pattern:
    """``template`` with each ``{}`` replaced by the alternation of one word list, compiled once."""
    return re.compile(template.format(*map(_alternation, words)))


@lru_cache(maxsize=16)
def _char_class(chars: frozenset) -> re.Pattern:
    return re.compile(f"[{re.escape(''.join(sorted(chars)))}]")


class _Mask(Schema):
    keep_head = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    keep_tail = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))

    @post_load
    def build(self, data, **kwargs) -> MaskSpec:
        return MaskSpec(data["keep_head"], data["keep_tail"])


class _ResidentIdMask(_Mask):
    @validates_schema
    def birth_date_goes(self, data, **kwargs):
        if data.get("keep_head", 0) + data.get("keep_tail", 0) > 8:
            raise ValidationError("keeps too much (at most 8 of 18 characters; the birth date must go)")


class _Masks(Schema):
    mask_char = fields.String(load_default="*", validate=validate.Regexp(
        r"^\D$", error="must be one non-digit character"))
    resident_id = fields.Nested(_ResidentIdMask, required=True)
    resident_id_15 = fields.Nested(_Mask, required=True)
    other_id = fields.Nested(_Mask, required=True)
    mobile = fields.Nested(_Mask, required=True)
    bank_account = fields.Nested(_Mask, required=True)
    address_rest = fields.String(load_default="****", validate=validate.Length(min=1))


class _Notices(Schema):
    state_secret = fields.String(required=True)
    commercial_secret = fields.String(required=True)
    personal_privacy = fields.String(required=True)
    minor_summary = fields.String(required=True)
    minor_withhold = fields.String(required=True)


class RedactionFile(Schema):
    """``config/disclosure/redaction.yaml`` → :class:`RedactionRules` (label lists longest first)."""

    version = fields.Integer(strict=True)
    masks = fields.Nested(_Masks, required=True)
    mask_licence_plates = fields.Boolean(load_default=True)
    mask_given_name_alone = fields.Boolean(load_default=True)
    minor_policy = fields.String(load_default="summary", validate=validate.OneOf(["summary", "withhold"]))
    field_labels = _words(required=True)
    role_labels = _words(required=True)
    fallback_labels = _words(required=True)
    name_end_words = _words(required=True)
    check_labels = _words(required=True)
    not_person_words = _words(required=True)
    title_words = _words(required=True)
    organisation_words = _words(required=True)
    public_number_labels = _words(required=True)
    name_followers = fields.String(required=True, validate=validate.Length(min=1))
    ambiguous_surnames = _words(required=True)
    not_names = _words(required=True)
    compound_surnames = fields.List(fields.String(validate=validate.Length(
        min=2, error="a compound surname has at least 2 characters")), required=True, validate=validate.Length(min=1))
    common_surnames = fields.String(required=True, validate=validate.Regexp(
        r"\S", error="must be a string of surname characters"))
    address_keywords = _words(required=True)
    street_words = _words(required=True)
    not_divisions = _words(required=True)
    notices = fields.Nested(_Notices, required=True)

    @post_load
    def build(self, data, **kwargs) -> RedactionRules:
        masks = data["masks"]
        return RedactionRules(
            mask_char=masks["mask_char"], resident_id=masks["resident_id"], resident_id_15=masks["resident_id_15"],
            other_id=masks["other_id"], mobile=masks["mobile"], bank_account=masks["bank_account"],
            address_rest=masks["address_rest"], mask_licence_plates=data["mask_licence_plates"],
            mask_given_name_alone=data["mask_given_name_alone"], minor_policy=data["minor_policy"],
            **{key: _longest_first(data[key]) for key in (
                "field_labels", "role_labels", "name_end_words", "check_labels", "not_person_words", "title_words",
                "organisation_words", "public_number_labels", "compound_surnames", "address_keywords",
                "street_words")},
            fallback_labels=frozenset(data["fallback_labels"]), name_followers=frozenset(data["name_followers"]),
            ambiguous_surnames=frozenset(data["ambiguous_surnames"]), not_names=frozenset(data["not_names"]),
            common_surnames=frozenset(c for c in data["common_surnames"] if not c.isspace()),
            not_divisions=tuple(data["not_divisions"]), notices={k: data["notices"][k] for k in _NOTICE_KEYS})


def load_redaction_rules(path: str | Path | None = None) -> RedactionRules:
    """Load and validate ``config/disclosure/redaction.yaml`` (or ``path``); ConfigFileError (a ValueError)
    ``file: key.path: message`` on bad content."""
    return _load_rules(str(path or DEFAULT_REDACTION_FILE))


@lru_cache(maxsize=8)
def _load_rules(path: str) -> RedactionRules:
    return load_config_file(path, RedactionFile)


# --- elementary masks --------------------------------------------------------------------------
def mask_keep(value: str, spec: MaskSpec, mask_char: str = "*") -> str:
    """Keep ``spec.keep_head`` leading and ``keep_tail`` trailing characters, mask the rest."""
    n = len(value)
    if spec.keep_head + spec.keep_tail >= n:
        return mask_char * n
    tail = value[n - spec.keep_tail:] if spec.keep_tail else ""
    return value[: spec.keep_head] + mask_char * (n - spec.keep_head - spec.keep_tail) + tail


def surname_of(name: str, rules: RedactionRules | None = None) -> str:
    """The surname (姓) of a Chinese name, compound surnames (复姓) included."""
    rules = rules or load_redaction_rules()
    name = name.strip()
    for sep in ("·", "•", "・"):
        if sep in name:  # names of ethnic minorities: 买买提·艾力 → first character of the first part
            return name.split(sep)[0][:1]
    for compound in rules.compound_surnames:
        if name.startswith(compound) and len(name) > len(compound):
            return compound
    return name[:1] if len(name) >= 2 else ""


def mask_name(name: str, rules: RedactionRules | None = None) -> str:
    """Surname + 某 (姓名隐名处理): 张三 → 张某, 欧阳娜娜 → 欧阳某, 买买提·艾力 → 买某."""
    return surname_of(name, rules) + "某"


def mask_resident_id(value: str, rules: RedactionRules | None = None) -> str:
    """320102199001011234 → 3201**********1234 (15-digit: keep 4 + 3 by default)."""
    rules = rules or load_redaction_rules()
    value = value.strip()
    spec = rules.resident_id_15 if len(value) == 15 else rules.resident_id
    return mask_keep(value, spec, rules.mask_char)


def mask_mobile(value: str, rules: RedactionRules | None = None) -> str:
    """13812345678 → 138****5678 (a +86 prefix is kept in front, separators dropped)."""
    rules = rules or load_redaction_rules()
    m = re.match(r"^((?:\+|＋)?86[ -]?)?(.*)$", value.strip())
    prefix, digits = m.group(1) or "", re.sub(r"\D", "", m.group(2))
    if prefix and len(digits) != 11:  # "86" was part of the number after all
        prefix, digits = "", re.sub(r"\D", "", value)
    return prefix + mask_keep(digits, rules.mobile, rules.mask_char)


# --- public entry and result ---------------------------------------------------------------
class Outcome(str, enum.Enum):
    """Publication outcome: 全文公开 (masked) / 摘要公开 / 不予公开."""

    PUBLISH = "publish"
    SUMMARY = "summary"
    WITHHELD = "withheld"


class RedactionKind(str, enum.Enum):
    NAME = "name"
    RESIDENT_ID = "resident_id"
    RESIDENT_ID_15 = "resident_id_15"
    OTHER_ID = "other_id"
    MOBILE = "mobile"
    LANDLINE = "landline"
    BANK_ACCOUNT = "bank_account"
    LONG_NUMBER = "long_number"
    EMAIL = "email"
    ADDRESS = "address"
    LICENCE_PLATE = "licence_plate"
    SECTION = "section"  # a whole field left out (summary publication)


@dataclass(frozen=True)
class RedactionItem:
    """Audit line: in ``field``, ``count`` values of ``kind`` were masked (never the values)."""

    kind: RedactionKind
    field: str
    count: int


@dataclass(frozen=True)
class PublicParty:
    party_kind: PartyKind
    name: str
    id_type: IdType
    id_display: str


@dataclass(frozen=True)
class PublicEntry:
    """What the public sees of one decision (执法机关、执法对象、执法类别、执法结论) — DISC-3."""

    case_id: str
    decision_no: str
    version: int
    body_id: str
    body_name: str
    region_code: str
    action_type: str
    action_type_zh: str
    category: str
    decided_on: dt.date
    conclusion_type: str
    parties: tuple[PublicParty, ...] = ()
    facts: str | None = None
    legal_basis: str | None = None
    conclusion: str | None = None
    fine_amount: Decimal | None = None
    summary_only: bool = False
    notice_zh: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (dates ISO, Decimal as string, enums as values)."""
        return _jsonable(dataclasses.asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@dataclass(frozen=True)
class RedactionResult:
    outcome: Outcome
    entry: PublicEntry | None
    redactions: tuple[RedactionItem, ...]
    reason_zh: str | None = None
    # the entry passed ``assert_no_personal_data`` against the decision's parties (a full entry, DISC-4)
    checked: bool = False

    def counts(self) -> dict[str, int]:
        """Total masked values per kind (for the audit log)."""
        total: Counter[str] = Counter()
        for item in self.redactions:
            total[item.kind.value] += item.count
        return dict(total)


# --- the text redactor --------------------------------------------------------------------------
_EMAIL_RE = re.compile(r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9][A-Za-z0-9._%+-]*)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
_ID18_RE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{6}[ -]\d{8}[ -]\d{3}[\dXx])(?![0-9A-Za-z])")
_ID15_RE = re.compile(r"(?<![0-9A-Za-z])(\d{15})(?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<![\d])(?:(?:\+|＋)?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")
_LANDLINE_RE = re.compile(
    r"(?<!\d)(?P<area>[(（]0\d{2,3}[)）][ -]?|0\d{2,3}[-－ ])(?P<num>\d{7,8})(?P<ext>(?:转|-|－)\d{1,6})?(?!\d)")
_PHONE_KEYWORD_RE = re.compile(
    r"(?P<kw>联系电话|电话号码|联系方式|固定电话|手机号码|手机号|电话|座机|固话|传真|手机|Tel|TEL|tel)"
    r"(?P<sep>\s*[：:]?\s*)(?P<num>\d{7,12})(?!\d)")
_BANK_RE = re.compile(r"(?<![0-9A-Za-z])(?:\d{12,}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,4})?)(?![0-9A-Za-z])")
_PLATE_RE = re.compile(
    r"(?<![A-Za-z0-9])(?P<head>[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z])"
    r"(?P<sep>[·•]?)(?P<body>[A-HJ-NP-Z0-9]{5,6})(?P<suffix>[挂学警港澳]?)(?![A-Za-z0-9])")
_USCC_RE = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NP-RTUWXY]{18}(?![0-9A-Z])")
_NUM = r"(?:[0-9０-９]+|[一二三四五六七八九十百零〇两]+)"
_UNIT = r"(?:号院|号楼|号|弄|栋|幢|座|单元|室|组|楼|层|户|支弄)"
_HOUSE_NUMBER = rf"{_NUM}{_UNIT}(?:[-－—]?(?:{_NUM}|[A-Za-z])+{_UNIT}?)*"
_DIVISION_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "地区", "省", "市", "盟", "区", "县", "旗")
_COUNTY_SUFFIXES = ("自治县", "自治旗", "区", "县", "旗")
_NON_DIVISION_CHARS = set("路街巷弄村号组室栋幢")
_ADDRESS_LEFT_STOPS = set("区县旗市省在于至住址所的为是到往从向经与和及将位对处内外")
_LABEL_STOPS = ("性别", "民族", "出生", "身份", "住址", "住所", "电话", "年龄", "联系", "男", "女")


class _TextRedactor:
    """Masks personal data in free text for one decision (party list known)."""

    def __init__(self, rules: RedactionRules, parties: Sequence[Party], protected: Iterable[str] = ()):
        self.rules = rules
        self.parties = tuple(parties)
        self.counts: Counter[tuple[RedactionKind, str]] = Counter()
        self.field = ""
        protected_list = [p for p in protected if p and len(p) >= 2]
        for p in self.parties:
            if p.party_kind is not PartyKind.NATURAL and len(p.name) >= 2:
                protected_list.append(p.name)
            if p.party_kind is not PartyKind.NATURAL and p.id_type is IdType.USCC and p.id_number:
                protected_list.append(p.id_number.upper())
        self.protected = sorted(set(protected_list), key=len, reverse=True)
        self.name_masks = party_name_masks(self.parties, rules)
        self.found_names: dict[str, str] = {}  # names recognised after a label (证人王建国…), masked everywhere after
        surnames = {surname_of(n, rules) for n in self.name_masks}
        self.given_names: dict[str, str] = {}
        if rules.mask_given_name_alone:
            for name, masked in self.name_masks.items():
                given = name[len(surname_of(name, rules)):]
                if len(given) >= 2 and "·" not in given and given not in surnames:
                    self.given_names.setdefault(given, masked)

    # -- bookkeeping
    def _count(self, kind: RedactionKind, n: int = 1) -> None:
        if n:
            self.counts[(kind, self.field)] += n

    def items(self) -> list[RedactionItem]:
        return [RedactionItem(kind, field, n) for (kind, field), n in self.counts.items()]

    # -- protection of public identifiers (文书号, legal persons' names, USCC)
    def _protect(self, text: str) -> tuple[str, list[str]]:
        saved: list[str] = []

        def hold(value: str) -> str:
            saved.append(value)
            return _PLACEHOLDER_OPEN + chr(0xE100 + len(saved) - 1) + _PLACEHOLDER_CLOSE

        for value in self.protected:
            if value in text:
                text = text.replace(value, hold(value))

        def uscc(m: re.Match) -> str:
            code = m.group(0)
            if validate_uscc(code) is None and validate_resident_id(code) is not None and not code.isdigit():
                return hold(code)
            return code

        text = _USCC_RE.sub(uscc, text)
        for number in public_numbers(text, self.rules):
            text = text.replace(number, hold(number))
        return text, saved

    @staticmethod
    def _restore(text: str, saved: list[str]) -> str:
        for i, value in enumerate(saved):
            text = text.replace(_PLACEHOLDER_OPEN + chr(0xE100 + i) + _PLACEHOLDER_CLOSE, value)
        return text

    # -- entry point
    def redact(self, text: str | None, field: str) -> str | None:
        if text is None:
            return None
        self.field = field
        text, saved = self._protect(text)
        text = self._party_data(text)
        text = self._emails(text)
        text = self._ids(text)
        text = self._phones(text)
        text = self._bank(text)
        if self.rules.mask_licence_plates:
            text = self._plates(text)
        text = self._names(text)
        text = self._addresses(text)
        return self._restore(text, saved)

    # -- exact data of the parties
    def _party_data(self, text: str) -> str:
        r = self.rules
        for p in self.parties:
            if p.address and len(p.address) >= 4 and p.address in text:
                reduced = reduce_address(p.address, r)
                if reduced != p.address:
                    self._count(RedactionKind.ADDRESS, text.count(p.address))
                    text = text.replace(p.address, reduced)
            phone = p.phone.strip()
            standard = _MOBILE_RE.fullmatch(phone) or _LANDLINE_RE.fullmatch(phone)
            if len(re.sub(r"\D", "", phone)) >= 7 and phone in text and not standard:
                # an unusual format the patterns below would miss: mask every digit
                self._count(RedactionKind.LANDLINE, text.count(phone))
                text = text.replace(phone, re.sub(r"\d", r.mask_char, phone))
            number = p.id_number.strip()
            if number and p.id_type is not IdType.USCC and number in text and len(number) >= 4:
                if p.id_type is IdType.RESIDENT_ID:
                    kind = RedactionKind.RESIDENT_ID_15 if len(number) == 15 else RedactionKind.RESIDENT_ID
                    masked = mask_resident_id(number, r)
                else:
                    kind, masked = RedactionKind.OTHER_ID, mask_keep(number, r.other_id, r.mask_char)
                self._count(kind, text.count(number))
                text = text.replace(number, masked)
        return text

    def _emails(self, text: str) -> str:
        def sub(m: re.Match) -> str:
            self._count(RedactionKind.EMAIL)
            local = m.group(1)
            return local[:1] + self.rules.mask_char * 3 + "@" + m.group(2)

        return _EMAIL_RE.sub(sub, text)

    def _ids(self, text: str) -> str:
        r = self.rules

        def id18(m: re.Match) -> str:
            raw = m.group(1)
            compact = re.sub(r"[ -]", "", raw).upper()
            if validate_resident_id(compact) is None or compact.endswith("X") or " " in raw or "-" in raw:
                self._count(RedactionKind.RESIDENT_ID)
                return mask_keep(compact, r.resident_id, r.mask_char)
            return raw  # an 18-digit number that is no ID: left to the bank-number rule

        def id15(m: re.Match) -> str:
            raw = m.group(1)
            try:
                dt.date(1900 + int(raw[6:8]), int(raw[8:10]), int(raw[10:12]))
            except ValueError:
                return raw
            self._count(RedactionKind.RESIDENT_ID_15)
            return mask_keep(raw, r.resident_id_15, r.mask_char)

        return _ID15_RE.sub(id15, _ID18_RE.sub(id18, text))

    def _phones(self, text: str) -> str:
        r = self.rules

        def mobile(m: re.Match) -> str:
            self._count(RedactionKind.MOBILE)
            return mask_mobile(m.group(0), r)

        def landline(m: re.Match) -> str:
            self._count(RedactionKind.LANDLINE)
            ext = m.group("ext") or ""
            return m.group("area") + r.mask_char * len(m.group("num")) + re.sub(r"\d", r.mask_char, ext)

        def keyword(m: re.Match) -> str:
            num = m.group("num")
            self._count(RedactionKind.MOBILE if re.fullmatch(r"1[3-9]\d{9}", num) else RedactionKind.LANDLINE)
            keep = 4 if num.startswith("0") and len(num) >= 11 else (3 if num.startswith("0") else 0)
            return m.group("kw") + m.group("sep") + num[:keep] + r.mask_char * (len(num) - keep)

        text = _MOBILE_RE.sub(mobile, text)
        text = _LANDLINE_RE.sub(landline, text)
        return _PHONE_KEYWORD_RE.sub(keyword, text)

    def _bank(self, text: str) -> str:
        r = self.rules

        def sub(m: re.Match) -> str:
            digits = re.sub(r"\D", "", m.group(0))
            if len(digits) < 12:
                return m.group(0)
            self._count(RedactionKind.BANK_ACCOUNT if len(digits) <= 19 else RedactionKind.LONG_NUMBER)
            spec = r.bank_account if len(digits) <= 19 else MaskSpec(0, 0)
            return mask_keep(digits, spec, r.mask_char)

        return _BANK_RE.sub(sub, text)

    def _plates(self, text: str) -> str:
        def sub(m: re.Match) -> str:
            self._count(RedactionKind.LICENCE_PLATE)
            body = m.group("body")
            return m.group("head") + m.group("sep") + self.rules.mask_char * (len(body) - 2) + body[-2:] + m.group("suffix")

        return _PLATE_RE.sub(sub, text)

    # -- names
    def _names(self, text: str) -> str:
        for name in sorted(self.name_masks, key=len, reverse=True):
            if name in text:
                self._count(RedactionKind.NAME, text.count(name))
                text = text.replace(name, self.name_masks[name])
        for given in sorted(self.given_names, key=len, reverse=True):
            if given in text:
                self._count(RedactionKind.NAME, text.count(given))
                text = text.replace(given, self.given_names[given])
        text = self._field_label_names(text)
        text = self._role_label_names(text)
        # a name recognised after a label is a person's name wherever it appears again (王建国的…)
        for name in sorted(self.found_names, key=len, reverse=True):
            if name in text:
                self._count(RedactionKind.NAME, text.count(name))
                text = text.replace(name, self.found_names[name])
        return text

    def _looks_like_name(self, candidate: str, narrative: bool) -> bool:
        r = self.rules
        if len(candidate) < 2 or "某" in candidate or any(candidate.startswith(w) for w in r.not_names):
            return False
        if any(candidate.startswith(w) for w in r.not_person_words + r.title_words):
            return False
        if "·" in candidate:
            return True
        compound = next((c for c in r.compound_surnames if candidate.startswith(c)), None)
        if compound:
            return len(candidate) > len(compound)
        if candidate[0] not in r.common_surnames:
            return False
        if narrative and candidate[0] in r.ambiguous_surnames:
            return False
        return len(candidate) <= 4

    def _field_label_names(self, text: str) -> str:
        pattern = _pattern(rf"(?P<label>{{}})(?P<sep>\s*[：:]\s*(?:{{}})?)(?P<value>[{_CJK}·]{{{{2,12}}}})",
                           self.rules.field_labels + self.rules.role_labels, self.rules.title_words)

        def sub(m: re.Match) -> str:
            value = m.group("value")
            cut = len(value)
            for stop in _LABEL_STOPS:
                i = value.find(stop, 2 if stop not in ("男", "女") else 1)
                if i != -1:
                    cut = min(cut, i)
            name, rest = value[:cut], value[cut:]
            if len(name) > 4 and "·" not in name or not self._looks_like_name(name, narrative=False):
                return m.group(0)
            self._count(RedactionKind.NAME)
            self.found_names[name] = mask_name(name, self.rules)
            return m.group("label") + m.group("sep") + mask_name(name, self.rules) + rest

        return pattern.sub(sub, text)

    def _role_label_names(self, text: str) -> str:
        """Narrative form 证人李四证实 / 当事人王五于…: the name must be followed by a typical
        follower character (于、在、称、，…); after a person-only label (``fallback_labels``) a
        surname + one character is masked when no follower is found."""
        r = self.rules
        # 负责人王五 / 负责人为王五 / 负责人总经理王五 …
        pattern = _pattern(rf"(?P<label>{{}})(?:为|是|系)?(?:{{}})?(?P<value>[{_CJK}]{{{{2,5}}}})", r.role_labels,
                           r.title_words)
        out, pos = [], 0
        for m in pattern.finditer(text):
            value = m.group("value")
            after = text[m.end("value"):m.end("value") + 1]
            compound = next((c for c in r.compound_surnames if value.startswith(c)), None)
            longest = len(compound) + 2 if compound else 3
            chosen = None
            for length in range(2, min(longest, len(value)) + 1):
                candidate = value[:length]
                follower = value[length:length + 1] or after
                if length == 2 and candidate[1] in r.name_followers:
                    continue  # 曾于 / 施的 …: a word, not a two-character name
                ahead = text[m.start("value") + length:m.start("value") + length + 4]
                ends = (not follower or follower in r.name_followers or not re.match(rf"[{_CJK}]", follower)
                        or any(ahead.startswith(w) for w in r.name_end_words))
                if ends and self._looks_like_name(candidate, narrative=True):
                    chosen = candidate
                    break
            if chosen is None and m.group("label") in r.fallback_labels:
                # a person-only label (证人, 法定代表人 …) whose name's end is not recognised: mask the
                # longest plausible name (surname + 2), so that no character of it stays in clear
                for length in range(min(longest, len(value)), (len(compound) if compound else 1), -1):
                    candidate = value[:length]
                    if self._looks_like_name(candidate, narrative=True) and candidate[-1] not in r.name_followers:
                        chosen = candidate
                        break
            if chosen is None:
                continue
            self._count(RedactionKind.NAME)
            if len(chosen) >= 3 or m.group("label") not in r.fallback_labels:
                self.found_names[chosen] = mask_name(chosen, r)  # not a 2-character fallback guess
            out.append(text[pos:m.start("value")])
            out.append(mask_name(chosen, r))
            pos = m.start("value") + len(chosen)
        out.append(text[pos:])
        return "".join(out)

    # -- addresses
    def _addresses(self, text: str) -> str:
        r = self.rules
        kw_re = _pattern(rf"(?P<kw>{{}})(?P<sep>\s*[：:为是在于]?\s*)(?P<value>[^，,。；;\n\r（(）)\s{_PLACEHOLDER_OPEN}]"
                         r"{{2,80}})", r.address_keywords)

        def by_keyword(m: re.Match) -> str:
            value = m.group("value")
            if value.endswith(r.address_rest) or not _looks_like_address(value, r):
                return m.group(0)
            reduced = reduce_address(value, r)
            if reduced == value:
                return m.group(0)
            self._count(RedactionKind.ADDRESS)
            return m.group("kw") + m.group("sep") + reduced

        text = kw_re.sub(by_keyword, text)
        anchor = _pattern(rf"(?:{{}})(?={_HOUSE_NUMBER.replace('{', '{{').replace('}', '}}')})", r.street_words)
        number = re.compile(_HOUSE_NUMBER)
        spans: list[tuple[int, int]] = []
        for m in anchor.finditer(text):
            if spans and m.start() < spans[-1][1]:
                continue
            end = number.match(text, m.end()).end()
            start = m.start()
            steps = 0
            while start > 0 and steps < 12:
                ch = text[start - 1]
                if not re.match(rf"[{_CJK}]", ch) or ch in _ADDRESS_LEFT_STOPS:
                    break
                start -= 1
                steps += 1
            spans.append((start, end))
        for start, end in reversed(spans):
            self._count(RedactionKind.ADDRESS)
            text = text[:start] + r.address_rest + text[end:]
        return text


def _looks_like_address(value: str, rules: RedactionRules) -> bool:
    """A keyword value is treated as an address when it names a division, street or house number."""
    return (_division_tokens(value, rules) > 0 or any(w in value for w in rules.street_words)
            or any(w in value for w in ("镇", "乡", "街道")) or re.search(_HOUSE_NUMBER, value) is not None)


def _division_tokens(value: str, rules: RedactionRules) -> int:
    """Length of the leading administrative-division part (省/市/县级) of an address."""
    pos, tokens = 0, 0
    while tokens < 3 and pos < len(value):
        found = None
        for k in range(1, 11):
            if pos + k >= len(value):
                break
            body = value[pos:pos + k]
            if not re.fullmatch(rf"[{_CJK}]+", body) or set(body) & _NON_DIVISION_CHARS:
                break
            rest = value[pos + k:]
            suffix = next((s for s in _DIVISION_SUFFIXES if rest.startswith(s)), None)
            if suffix:
                found = (k, suffix)
                break
        if not found:
            break
        k, suffix = found
        token = value[pos:pos + k + len(suffix)]
        if any(token.endswith(w) for w in rules.not_divisions):
            break
        pos += len(token)
        tokens += 1
        if suffix in _COUNTY_SUFFIXES:
            break
    return pos


def reduce_address(address: str, rules: RedactionRules | None = None) -> str:
    """Reduce an address to the county/district level: 南京市鼓楼区某某路12号 → 南京市鼓楼区****.

    The province, city and county parts (…省 / …市 / …区, …县, …旗) are kept; everything below —
    township or street (街道、镇、乡), road, house number, room — is replaced by ``address_rest``.
    An address without a recognisable division keeps nothing (→ ``****``).
    """
    rules = rules or load_redaction_rules()
    value = address.strip()
    lead = re.match(r"^[在于为是：:]+", value)
    prefix = lead.group(0) if lead else ""
    value = value[len(prefix):]
    keep = _division_tokens(value, rules)
    if keep >= len(value):
        return prefix + value
    return prefix + value[:keep] + rules.address_rest


def public_numbers(text: str, rules: RedactionRules | None = None) -> list[str]:
    """Numbers that are public by nature, written after a label such as 执法证号 / 许可证编号 /
    注册号 (officers' certificate numbers are published under DISC-1): they are not masked."""
    rules = rules or load_redaction_rules()
    found = []
    for m in _pattern(r"(?:{})[为是：:\s]*((?:[A-Za-z0-9]{{4,30}}(?![A-Za-z0-9])[、，,和及\s]*)+)",
                      rules.public_number_labels).finditer(text):
        found += [n for n in re.findall(r"[A-Za-z0-9]{4,30}", m.group(1)) if validate_resident_id(n) is not None]
    return sorted(set(found), key=len, reverse=True)


def party_name_masks(parties: Sequence[Party], rules: RedactionRules | None = None) -> dict[str, str]:
    """Natural persons' names → masked names; equal masks of different people get 甲/乙/丙…."""
    rules = rules or load_redaction_rules()
    names: list[str] = []
    for p in parties:
        if p.party_kind is PartyKind.NATURAL and len(p.name.strip()) >= 2 and p.name.strip() not in names:
            names.append(p.name.strip())
    by_mask: dict[str, list[str]] = {}
    for name in names:
        by_mask.setdefault(mask_name(name, rules), []).append(name)
    result: dict[str, str] = {}
    for masked, group in by_mask.items():
        if len(group) == 1:
            result[group[0]] = masked
        else:
            for i, name in enumerate(group):
                result[name] = masked + _DISAMBIGUATORS[i % len(_DISAMBIGUATORS)]
    return result


def redact_text(text: str, parties: Sequence[Party] = (), rules: RedactionRules | None = None,
                protected: Iterable[str] = ()) -> tuple[str, tuple[RedactionItem, ...]]:
    """Mask personal data in one free text (e.g. a correction reason) — DISC-4."""
    redactor = _TextRedactor(rules or load_redaction_rules(), parties, protected)
    return redactor.redact(text, "text") or "", tuple(redactor.items())


# --- the decision -------------------------------------------------------------------------------
def _is_minor(party: Party, on: dt.date) -> bool:
    if party.party_kind is not PartyKind.NATURAL or validate_resident_id(party.id_number) is not None:
        return False
    n = party.id_number
    birth = dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    eighteen = birth.replace(year=birth.year + 18) if not (birth.month == 2 and birth.day == 29) \
        else dt.date(birth.year + 18, 3, 1)
    return on < eighteen


def _public_party(party: Party, masks: dict[str, str], rules: RedactionRules) -> PublicParty:
    number = party.id_number.strip()
    if party.id_type is IdType.RESIDENT_ID and number:
        shown = mask_resident_id(number, rules)
    elif party.party_kind is PartyKind.NATURAL and number:
        shown = mask_keep(number, rules.other_id, rules.mask_char)
    else:
        shown = number  # 统一社会信用代码 / organisation identifiers are public
    name = masks.get(party.name.strip(), mask_name(party.name, rules)) if party.is_natural else party.name
    return PublicParty(party.party_kind, name, party.id_type, shown)


def _summary(decision: Decision, conclusion_label: str, notice: str) -> PublicEntry:
    return PublicEntry(
        case_id=decision.case_id, decision_no=decision.decision_no, version=decision.version,
        body_id=decision.body_id, body_name=decision.body_name, region_code=decision.region_code,
        action_type=decision.action_type.value, action_type_zh=decision.action_type.label_zh,
        category=decision.category, decided_on=decision.decided_at, conclusion_type=conclusion_label,
        summary_only=True, notice_zh=notice,
    )


def redact_decision(decision: Decision, rules: RedactionRules | None = None,
                    conclusion_rules: ConclusionRules | None = None) -> RedactionResult:
    """Build the public entry of a decision (DISC-3) with personal data masked (DISC-4).

    - ``state_secret`` → ``Outcome.WITHHELD``, no entry, Chinese reason;
    - ``commercial_secret`` / ``personal_privacy`` (and minors, per ``minor_policy``) →
      ``Outcome.SUMMARY``: body, category, conclusion type and date only — no parties, no facts;
    - otherwise ``Outcome.PUBLISH`` with masked parties, facts, legal basis and conclusion.

    The returned ``redactions`` list kinds, fields and counts — never the masked values.
    The published entry is checked with :func:`assert_no_personal_data` before it is returned.
    """
    rules = rules or load_redaction_rules()
    cls = classify_conclusion(decision.action_type, decision.conclusion, conclusion_rules)
    if decision.secrecy is Secrecy.STATE_SECRET:
        return RedactionResult(Outcome.WITHHELD, None, (), rules.notices["state_secret"])
    left_out = tuple(RedactionItem(RedactionKind.SECTION, f, 1)
                     for f in ("parties", "facts", "legal_basis", "conclusion", "fine_amount"))
    if decision.secrecy in (Secrecy.COMMERCIAL_SECRET, Secrecy.PERSONAL_PRIVACY):
        notice = rules.notices[decision.secrecy.value]
        return RedactionResult(Outcome.SUMMARY, _summary(decision, cls.label_zh, notice), left_out, notice)
    if any(_is_minor(p, decision.decided_at) for p in decision.parties):
        if rules.minor_policy == "withhold":
            return RedactionResult(Outcome.WITHHELD, None, (), rules.notices["minor_withhold"])
        notice = rules.notices["minor_summary"]
        return RedactionResult(Outcome.SUMMARY, _summary(decision, cls.label_zh, notice), left_out, notice)

    redactor = _TextRedactor(rules, decision.parties, protected=(decision.decision_no,))
    masks = redactor.name_masks
    parties = tuple(_public_party(p, masks, rules) for p in decision.parties)
    for p in decision.parties:
        if p.is_natural:
            redactor.field = "parties"
            redactor._count(RedactionKind.NAME)
            if p.id_number:
                kind = (RedactionKind.RESIDENT_ID if p.id_type is IdType.RESIDENT_ID else RedactionKind.OTHER_ID)
                redactor._count(kind)
    entry = PublicEntry(
        case_id=decision.case_id, decision_no=decision.decision_no, version=decision.version,
        body_id=decision.body_id, body_name=decision.body_name, region_code=decision.region_code,
        action_type=decision.action_type.value, action_type_zh=decision.action_type.label_zh,
        category=redactor.redact(decision.category, "category") or "",
        decided_on=decision.decided_at, conclusion_type=cls.label_zh, parties=parties,
        facts=redactor.redact(decision.facts, "facts"),
        legal_basis=redactor.redact(decision.legal_basis, "legal_basis"),
        conclusion=redactor.redact(decision.conclusion, "conclusion"),
        fine_amount=decision.fine_amount,
    )
    assert_no_personal_data(entry, decision.parties)
    return RedactionResult(Outcome.PUBLISH, entry, tuple(redactor.items()), checked=True)


# --- last line of defence -----------------------------------------------------------------------
class PersonalDataLeak(ValueError):
    """Personal data found in what is about to be published. ``findings``: (field, kind) pairs."""

    def __init__(self, findings: list[tuple[str, str]]):
        self.findings = findings
        where = "；".join(f"{f}: {k}" for f, k in findings)
        super().__init__(f"公示内容仍含个人信息，禁止发布（{where}）")


def _strings(value: Any, path: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name), f"{path}.{f.name}" if path else f.name)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")


_DIGIT_RUN_RE = re.compile(r"[0-9Xx]+")
LABELLED_NAME = "labelled_name"   # finding kind: a name-like token in clear after 法定代表人 / 负责人 …


_PUBLIC_FIELDS = frozenset({"case_id", "decision_no", "version", "body_id", "body_name", "region_code",
                            "action_type", "action_type_zh", "decided_on"})


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def find_personal_data(published: Any, parties: Sequence[Party] = ()) -> list[tuple[str, str]]:
    """(field, kind) of every piece of personal data found in ``published`` (never the values).

    Identifiers of the entry itself (case_id, decision_no, body, region) are not inspected; legal
    persons' names and declared USCCs, and the 文书号, are public and blanked before the checks.
    """
    findings: list[tuple[str, str]] = []
    natural_names = [p.name.strip() for p in parties if p.is_natural and len(p.name.strip()) >= 2]
    public = [p.name for p in parties if not p.is_natural and len(p.name) >= 2]
    public += [p.id_number.upper() for p in parties
               if not p.is_natural and p.id_type is IdType.USCC and p.id_number]
    decision_no = _get(published, "decision_no")
    if isinstance(decision_no, str) and decision_no:
        public.append(decision_no)
    public.sort(key=len, reverse=True)
    exact: list[tuple[str, str]] = []
    for p in parties:
        if p.is_natural and len(p.id_number.strip()) >= 6:
            exact.append((p.id_number.strip().upper(), "id_number"))
        phone = re.sub(r"\D", "", p.phone)
        if len(phone) >= 7:
            exact.append((phone, "phone"))
    for path, text in _strings(published):
        if path in _PUBLIC_FIELDS:
            continue
        for value in public + public_numbers(text):
            text = text.replace(value, "\ue000")
        compact = re.sub(r"(?<=\d)[ -](?=\d)", "", text).upper()
        kinds: set[str] = set()
        if any(name in text for name in natural_names):
            kinds.add("name")
        for run in _DIGIT_RUN_RE.findall(compact):
            if len(run) >= 18 and any(validate_resident_id(run[i:i + 18]) is None for i in range(len(run) - 17)):
                kinds.add("resident_id")
            if len(run) == 15 and run.isdigit():
                kinds.add("resident_id")
        if re.search(r"(?<!\d)(?:86)?1[3-9]\d{9}(?!\d)", compact):
            kinds.add("mobile")
        if re.search(r"(?<![0-9A-Z])\d{12,19}(?![0-9A-Z])", compact):
            kinds.add("bank_account")
        for value, kind in exact:
            if value in compact:
                kinds.add(kind)
        if labelled_names(text):
            kinds.add(LABELLED_NAME)
        findings.extend((path, k) for k in sorted(kinds))
    return findings


def labelled_names(text: str, rules: RedactionRules | None = None) -> list[str]:
    """The labels (``check_labels``: 法定代表人, 负责人, 经营者, 委托代理人, 证人, 联系人, 投资人 …) that are
    followed by a person-name-like token still in clear — the last line of defence (DISC-4) holds a
    publication with any. Deliberately wider than the redactor's rules (a name whose end the redactor
    could not recognise is flagged, not published); not flagged: a masked name (王某), a title or word
    that is no name (``not_person_words``, ``not_names``, 总经理), an organisation's name (its own
    words, ``organisation_words``, before any name-ending character), or a token whose first
    character is not a surname (or is one of the ``ambiguous_surnames`` function words: 应当, 及)."""
    r = rules or load_redaction_rules()
    found = []
    for m in _pattern(rf"(?P<label>{{}})(?:\s*[：:]\s*|(?:为|是|系)?)(?P<run>[{_CJK}·]{{{{2,16}}}})",
                      r.check_labels).finditer(text):
        run = m.group("run")
        for _ in range(2):   # a title between the label and the name: 负责人：总经理王建国
            title = next((t for t in r.title_words if run.startswith(t)), None)
            if title is None or len(run) - len(title) < 2:
                break
            run = run[len(title):]
        head = _char_class(r.name_followers).split(run, maxsplit=1)[0]
        if "某" in run[:4] or any(run.startswith(w) for w in r.not_person_words + tuple(r.not_names)):
            continue
        if any(w in head for w in r.organisation_words):
            continue
        compound = next((c for c in r.compound_surnames if run.startswith(c)), None)
        if compound:
            name_like = len(run) > len(compound)
        else:
            name_like = ("·" in run[:6] or (run[0] in r.common_surnames and run[0] not in r.ambiguous_surnames
                                            and run[1] not in r.name_followers))
        if name_like:
            found.append(m.group("label"))
    return found


def assert_no_personal_data(published_entry: Any, parties: Sequence[Party] = ()) -> None:
    """Raise :class:`PersonalDataLeak` if the entry still holds a natural person's name, a valid
    resident ID (18- or 15-digit), a mobile number, a bank-like number (12–19 digits), a party's
    declared ID/phone, or a person-name-like token after a role label (``labelled_names``: kind
    ``labelled_name``). Legal persons' names and their USCC are public and ignored — DISC-4.
    """
    findings = find_personal_data(published_entry, parties)
    if findings:
        raise PersonalDataLeak(findings)
