"""What every complaints use case shares: the expected refusal of a request (becomes the RPC's
``{"error": …}`` answer in service.py) and today's date from the suite's clock."""
from __future__ import annotations

import datetime as dt

from services.common import clock
from services.complaints.domain import CHINA_TZ


class Refused(Exception):
    """An expected refusal of a request (拒绝): status, code, Chinese message, field errors."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}

    def answer(self) -> dict:
        return {"error": {"status": self.status, "code": self.code, "message": self.message, "fields": self.fields}}


def invalid(fields: dict) -> Refused:
    """A form refused with Chinese field errors (请求内容有误)."""
    return Refused(422, "invalid", "请求内容有误", fields)


def now_utc() -> dt.datetime:
    return clock.now()


def today_china() -> dt.date:
    """Today in China from the suite's clock (services/common/clock.py), never a caller's date."""
    return clock.now().astimezone(CHINA_TZ).date()
