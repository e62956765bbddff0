"""What the evaluation use cases share: today by the suite's clock, a day from a caller, and the
scope check of a region-wide view (SEC-2, PLAT-1)."""
from __future__ import annotations

import datetime as dt

from services.common import clock
from services.common.identifiers import is_region_code
from services.common.scope import Scope
from services.evaluation.workflow import WorkflowError


def today_in_china() -> dt.date:
    """Today in China from the suite's clock (services/common/clock.py)."""
    return clock.today()


def day(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def scoped(scope, region_code: str | None) -> str:
    """The region asked for (default: the caller's), if the caller may see ALL of it: a region-wide
    view needs every body of the region (SEC-2: a scope narrowed to bodies, or none, is refused)."""
    scope = Scope.of(scope)
    region = region_code or scope.region_code
    if not (region and is_region_code(region) and scope.covers_region(region)):
        raise WorkflowError(403, "out_of_scope", f"无权访问行政区划 {region} 的数据")
    if not scope.all_bodies:
        raise WorkflowError(403, "out_of_scope", "区域汇总须具有本行政区划全部执法主体的访问范围")
    return region
