"""The filed complaint (投诉举报) as the domain sees it — REQUIREMENTS CMP-1…CMP-9.

Plain frozen dataclasses, no I/O. The service builds a :class:`Complaint` from the portal request
or a ``complaint.submitted`` event (12345 hotline, letters, e-mail, visits) and hands it to the
rules in :mod:`.acceptance`, :mod:`.register`, :mod:`.deadlines`, :mod:`.lifecycle` and :mod:`.views`.

Structural errors (a region code that is not a GB/T 2260 code, an unknown channel) raise
``ValueError`` at construction: they are contract violations, not grounds for non-acceptance.
Whether a complaint is *acceptable* (受理) is decided by :func:`.acceptance.assess`.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from services.common.identifiers import is_region_code

#: China Standard Time (no daylight saving): receipt times are counted on the Beijing calendar day.
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")


class Channel(str, enum.Enum):
    """Channel of receipt (投诉举报渠道, CMP-1)."""

    PORTAL = "portal"                # 网上（门户网站）
    HOTLINE_12345 = "hotline_12345"  # 12345热线
    LETTER = "letter"                # 信件
    EMAIL = "email"                  # 电子邮件
    VISIT = "visit"                  # 来访

    @property
    def label(self) -> str:
        return _CHANNEL_LABELS[self]


_CHANNEL_LABELS = {
    Channel.PORTAL: "网上",
    Channel.HOTLINE_12345: "12345热线",
    Channel.LETTER: "信件",
    Channel.EMAIL: "电子邮件",
    Channel.VISIT: "来访",
}


class BodyKind(str, enum.Enum):
    """Kind of the enforcement body complained about (执法主体类别, PLAT-2)."""

    DEPARTMENT = "department"                # 政府工作部门
    COUNTY_GOVERNMENT = "county_government"  # 县级人民政府（其他层级政府同样按"上一级"处理）
    AUTHORISED_ORG = "authorised_org"        # 法律法规授权组织
    ENTRUSTED_ORG = "entrusted_org"          # 受委托组织

    @property
    def label(self) -> str:
        return _BODY_KIND_LABELS[self]


_BODY_KIND_LABELS = {
    BodyKind.DEPARTMENT: "行政执法部门",
    BodyKind.COUNTY_GOVERNMENT: "人民政府",
    BodyKind.AUTHORISED_ORG: "法律法规授权组织",
    BodyKind.ENTRUSTED_ORG: "受委托组织",
}


@dataclass(frozen=True)
class Complainant:
    """投诉举报人. ``name``/``phone`` may be absent on anonymous letters; never shown to the body."""

    name: str | None = None
    phone: str | None = None
    id_number: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class BodyRef:
    """Another body that took part in the act complained of (two or more bodies, CMP-8).

    ``region_code`` is needed to find the common superior; ``kind`` tells whether the body is a
    government (whose supervisor is the tier above) or a department (supervised at its own tier).
    """

    body_id: str
    region_code: str
    kind: BodyKind = BodyKind.DEPARTMENT

    def __post_init__(self):
        object.__setattr__(self, "kind", BodyKind(self.kind))
        if not is_region_code(self.region_code):
            raise ValueError(f"body {self.body_id!r}: not an administrative division code: {self.region_code!r}")


@dataclass(frozen=True)
class Subject:
    """Who is complained about (被投诉对象).

    - ``body_id``/``body_kind``/``body_region_code``: the enforcement body (执法主体).
    - ``competent_department_id``: for an authorised organisation its competent department
      (主管部门); for an entrusted organisation its entrusting body (委托机关).
      ``competent_department_region_code`` defaults to ``body_region_code``.
    - ``officer_ids``: officers named (执法人员), optional.
    - ``about_officer_conduct``: the complaint is about an officer's personal conduct
      (执法人员的行为，如态度、作风), not about the body's act — routed to the officer's own body's
      legal office (CMP-8).
    - ``other_bodies``: further bodies when two or more bodies acted (共同行为).
    """

    body_id: str = ""
    body_kind: BodyKind = BodyKind.DEPARTMENT
    body_region_code: str = ""
    competent_department_id: str | None = None
    competent_department_region_code: str | None = None
    officer_ids: tuple[str, ...] = ()
    other_bodies: tuple[BodyRef, ...] = ()
    about_officer_conduct: bool = False

    def __post_init__(self):
        object.__setattr__(self, "body_kind", BodyKind(self.body_kind))
        object.__setattr__(self, "officer_ids", tuple(o for o in self.officer_ids if o))
        object.__setattr__(self, "other_bodies", tuple(self.other_bodies))
        if self.body_id and not is_region_code(self.body_region_code):
            raise ValueError(f"subject body {self.body_id!r}: invalid body_region_code {self.body_region_code!r}")
        if self.competent_department_region_code and not is_region_code(self.competent_department_region_code):
            raise ValueError(f"invalid competent_department_region_code {self.competent_department_region_code!r}")

    @property
    def other_body_ids(self) -> tuple[str, ...]:
        return tuple(b.body_id for b in self.other_bodies)

    @property
    def identifiable(self) -> bool:
        """An identifiable body or officer (被投诉主体或人员明确, CMP-8)."""
        return bool(self.body_id.strip() or self.officer_ids)


@dataclass(frozen=True)
class ComplaintFlags:
    """Facts the intake records that change handling."""

    under_reconsideration_or_litigation: bool = False  # 已申请行政复议或提起行政诉讼 (CMP-8)
    against_private_enterprise: bool = False           # 涉民营企业行政执法 (CMP-6)


@dataclass(frozen=True)
class Complaint:
    """One complaint as filed (投诉举报事项).

    ``region_code`` is where it was filed (受理地); ``request`` is the 诉求, ``facts`` the
    事实和理由; ``categories`` are intake classification codes from
    ``config/complaints/acceptance.yaml`` (e.g. ``criminal``), empty when not classified.
    ``received_at`` may be a date or a datetime; an aware datetime is read in China Standard Time.
    """

    channel: Channel
    region_code: str
    complainant: Complainant
    subject: Subject | None
    request: str
    facts: str
    received_at: dt.datetime | dt.date
    case_id: str | None = None
    flags: ComplaintFlags = field(default_factory=ComplaintFlags)
    attachments: int = 0
    categories: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "channel", Channel(self.channel))
        object.__setattr__(self, "categories", tuple(self.categories))
        if not is_region_code(self.region_code):
            raise ValueError(f"complaint region_code is not an administrative division code: {self.region_code!r}")
        if self.attachments < 0:
            raise ValueError("attachments must be >= 0")
        if not isinstance(self.received_at, (dt.date, dt.datetime)):
            raise ValueError("received_at must be a date or datetime")

    @property
    def received_on(self) -> dt.date:
        """The Beijing calendar day of receipt (收到之日)."""
        return local_date(self.received_at)


def local_date(value: dt.datetime | dt.date) -> dt.date:
    """The China Standard Time calendar day of ``value`` (naive datetimes are taken as local)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(CHINA_TZ)
        return value.date()
    return value
