"""How numbers, money, dates, times and sizes read on the pages (issue 19; DISC-9, CMP-1…4): one module,
installed as Jinja filters by the gateway (services/gateway/pages.py), used by every template and by the
Chinese messages of the services (sizes of attachments and request bodies).

- money: ``1,234,567.00 元`` (``money``); in a summary ``123.46 万元`` from 10,000 yuan on (``money_wan``).
- dates: ``2026年12月2日`` on detail pages (``date_zh``); ISO dates stay in forms and data files.
- times: always 北京时间 (Asia/Shanghai): ``2026年12月2日 14:05（北京时间）`` (``datetime_zh``) or, in tables
  whose heading says 北京时间, ``2026-12-02 14:05`` (``beijing``). A timestamp without a zone is UTC (the
  services store them so); an integer is milliseconds since the epoch (signed tree heads).
- sizes: ``10 兆字节`` (``size_zh``), never "MiB".

Pure functions, no I/O; a value that cannot be read is shown as it came (never an exception on a page)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation, ROUND_HALF_UP
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
EMPTY = "—"
WAN = Decimal(10_000)
CENT = Decimal("0.01")


def _decimal(value) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def money(value, unit: str = "元") -> str:
    """``1,234,567.00 元``: thousands separators, two decimals, a space before the unit."""
    number = _decimal(value)
    if number is None:
        return EMPTY if value in (None, "") else str(value)
    return f"{number.quantize(CENT, rounding=ROUND_HALF_UP):,} {unit}"


def money_wan(value) -> str:
    """In a summary: ``123.46 万元`` from 10,000 yuan on, ``9,999.00 元`` below."""
    number = _decimal(value)
    if number is None or abs(number) < WAN:
        return money(value)
    return money(number / WAN, "万元")


def _as_datetime(value) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc)
    elif isinstance(value, str) and len(value) > 10:
        text = value.strip().replace(" ", "T", 1)
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            if text.isdigit():
                return _as_datetime(int(text))
            return None
    elif isinstance(value, str) and value.isdigit():
        return _as_datetime(int(value))
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(BEIJING)


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return _as_datetime(value).date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    moment = _as_datetime(value)
    return moment.date() if moment is not None else None


def date_zh(value) -> str:
    """``2026年12月2日`` (a timestamp: its day in Beijing)."""
    day = _as_date(value)
    if day is None:
        return EMPTY if value in (None, "") else str(value)
    return f"{day.year}年{day.month}月{day.day}日"


def beijing(value, seconds: bool = False) -> str:
    """``2026-12-02 14:05`` in Beijing time, for tables whose heading says 北京时间."""
    moment = _as_datetime(value)
    if moment is None:
        return EMPTY if value in (None, "") else str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def datetime_zh(value, seconds: bool = False) -> str:
    """``2026年12月2日 14:05（北京时间）``."""
    moment = _as_datetime(value)
    if moment is None:
        return date_zh(value)
    clock = moment.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{moment.year}年{moment.month}月{moment.day}日 {clock}（北京时间）"


def size_zh(value) -> str:
    """``10 兆字节``, ``512 千字节``, ``300 字节`` (1 兆字节 = 1,048,576 字节): never "MiB"."""
    try:
        size = int(value)
    except (TypeError, ValueError):
        return EMPTY if value in (None, "") else str(value)
    for unit, factor in (("吉字节", 1 << 30), ("兆字节", 1 << 20), ("千字节", 1 << 10)):
        if size >= factor:
            amount = Decimal(size) / factor
            text = f"{amount:.0f}" if size % factor == 0 else f"{amount.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}"
            return f"{text} {unit}"
    return f"{size} 字节"


def count(value) -> str:
    """``12,345``: a count with thousands separators."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return EMPTY if value in (None, "") else str(value)


FILTERS = {"money": money, "money_wan": money_wan, "date_zh": date_zh, "beijing": beijing,
           "datetime_zh": datetime_zh, "size_zh": size_zh, "count": count}


def install(env) -> None:
    """Register the filters on a Jinja environment."""
    env.filters.update(FILTERS)


# -- keywords (search, highlighting) -----------------------------------------------------------------------
import re as _re  # noqa: E402

# keywords are separated by spaces and by Chinese or Western punctuation people type between words
KEYWORD_SEPARATORS = _re.compile(r"[\s,，、;；。!！?？:：|]+")
MAX_KEYWORDS = 5
# a masked fragment (138****5678, 3204**********1234): the digits and letters touching a mask character
MASK_CHARS = "*＊●•"
MASKED_FRAGMENT = _re.compile(f"[0-9A-Za-z０-９Ａ-Ｚａ-ｚ]*[{_re.escape(MASK_CHARS)}]+[0-9A-Za-z０-９Ａ-Ｚａ-ｚ{_re.escape(MASK_CHARS)}]*")


def keywords(q) -> list[str]:
    """The keywords of a search box: "食品，罚款" and "食品、罚款" are two words, like "食品 罚款" (issue 19)."""
    return [w for w in KEYWORD_SEPARATORS.split(q or "") if w][:MAX_KEYWORDS]


def without_masked(value: str) -> str:
    """The text with masked fragments blanked out: 138****5678 → a space, so "139" or "3204" never match
    through a masked phone or ID number (issue 19)."""
    return MASKED_FRAGMENT.sub(" ", value or "")
