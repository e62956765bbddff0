"""Audit routes (安全审计, SEC-3, issue 15): the auditor searches the audit trail of staff actions.

The ``auditor`` role can do this and nothing else: no other route lists it, and these list no other
role. Its scope is its region (a city auditor sees the staff of the city and its counties). Every
search is itself audited (the auditor is staff).
"""
from __future__ import annotations

import datetime as dt

from services.common.rpc import call
from services.gateway import pages
from services.gateway.http import HttpError, endpoint

AUDITORS = ("auditor",)
FILTERS = ("subject", "role", "action", "outcome", "phase", "correlation_id", "source_address", "from", "to",
           "before", "limit")


def _filters(request) -> dict:
    filters = {k: request.args.get(k, "").strip() for k in FILTERS if request.args.get(k, "").strip()}
    for name in ("from", "to"):
        if name in filters:
            try:
                dt.datetime.fromisoformat(filters[name])
            except ValueError:
                raise HttpError(422, "invalid", f"{name} 应为ISO 8601日期或时间，如 2026-01-01") from None
    for name in ("before", "limit"):
        if name in filters and not filters[name].isdigit():
            raise HttpError(422, "invalid", f"{name} 应为正整数")
    return filters


class AuditRoutes:
    @endpoint("GET", "/api/v1/audit/entries", roles=AUDITORS, tags=("audit",),
              summary="Search the audit trail of staff actions in the auditor's region (subject, role, action, "
                      "outcome, phase, correlation_id, source_address, from, to, before, limit) (SEC-3, auditor only)")
    def audit_entries(self, request, identity):
        return call(self.records, "search_audit", identity.region_code, _filters(request), timeout=30)

    @endpoint("GET", "/audit", roles=AUDITORS, tags=("audit",),
              summary="Audit trail page (Chinese) for the auditor (SEC-3)")
    def audit_page(self, request, identity):
        filters = _filters(request)
        result = call(self.records, "search_audit", identity.region_code, filters, timeout=30)
        return pages.render("audit/entries.html", entries=result["entries"], filters=filters, staff=identity,
                            retention_days=result["retention_days"])
