"""What a principal may see and act on: its region and its bodies (SEC-2, PLAT-1) — fail closed.

A scope is a region (GB/T 2260; it covers its subordinate regions) and a set of enforcement bodies
(执法主体). The rules (docs/ARCHITECTURE.md "Access scope", RUNBOOK "Staff tokens"):

- **No body list means no body.** A department API key or a staff token bound to bodies acts for those
  bodies only; a key or token of a body-bound role (officer, legal_reviewer, responsible_person,
  department) WITHOUT a body list acts for none — it sees nothing and may change nothing.
- **"All bodies of the region" is an explicit grant**: ``bodies: ["*"]`` in a token's claims or an
  ``api_keys.yaml`` entry (``zhifa token|api-key --body '*'``), or a region-wide role, whose meaning is
  exactly that: supervisor (监督人员, the supervising office watches every body of its region),
  complaint_handler (投诉处理人员 of the government's legal office), admin and auditor. A region-wide
  role given an explicit body list is narrowed to it.
- The gateway passes ``Scope.as_dict()`` to every staff RPC; each service parses it with
  ``Scope.of`` and filters its OWN queries (reads and writes) with ``covers`` / ``where``. Anything
  that is not a well-formed scope (a bare region string, a missing region) parses as the empty scope.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import false, true

from services.common.identifiers import is_region_code, region_covers, region_prefix

ALL_BODIES = "*"
#: roles whose meaning is "every body of my region" (documented grant); the rest need a body list
REGION_WIDE_ROLES = frozenset({"supervisor", "complaint_handler", "admin", "auditor"})


class OutOfScope(Exception):
    """The principal's scope does not cover what it asks for (answered 403/404 by the caller)."""


@dataclass(frozen=True)
class Scope:
    region_code: str | None
    bodies: frozenset | None          # None: every body of the region; frozenset(): no body at all

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def of(cls, data) -> "Scope":
        """The scope an RPC was given (``as_dict``); anything else is the empty scope (fail closed)."""
        if isinstance(data, Scope):
            return data
        if not isinstance(data, dict):
            return NOTHING
        region = data.get("region_code")
        if not (isinstance(region, str) and is_region_code(region)):
            return NOTHING
        bodies = data.get("bodies")
        if bodies == ALL_BODIES:
            return cls(region, None)
        if isinstance(bodies, (list, tuple)):
            return cls(region, frozenset(str(b) for b in bodies if b and b != ALL_BODIES))
        return cls(region, frozenset())

    @classmethod
    def granted(cls, role: str | None, region_code: str | None, body_ids=()) -> "Scope":
        """The scope of a principal with this role, region and body list (the rules above)."""
        if not (region_code and is_region_code(region_code)):
            return NOTHING
        body_ids = tuple(body_ids or ())
        if ALL_BODIES in body_ids:
            return cls(region_code, None)
        if body_ids:
            return cls(region_code, frozenset(body_ids))
        if role in REGION_WIDE_ROLES:
            return cls(region_code, None)
        return cls(region_code, frozenset())

    def as_dict(self) -> dict:
        return {"region_code": self.region_code,
                "bodies": ALL_BODIES if self.all_bodies else sorted(self.bodies or ())}

    # -- questions ----------------------------------------------------------------------------------
    @property
    def all_bodies(self) -> bool:
        """Every body of the region (an explicit grant or a region-wide role)."""
        return self.region_code is not None and self.bodies is None

    @property
    def empty(self) -> bool:
        return self.region_code is None or self.bodies == frozenset()

    def covers_region(self, region_code: str | None) -> bool:
        """The region is under the scope's region (bodies aside: for region-level questions)."""
        return bool(self.region_code and region_code) and region_covers(self.region_code, region_code)

    def covers(self, region_code: str | None, body_id: str | None) -> bool:
        """A thing of ``body_id`` in ``region_code`` is in scope. A thing of no body (``None``) is in
        the scope of an all-bodies principal only."""
        if not self.covers_region(region_code):
            return False
        if self.bodies is None:
            return True
        return body_id is not None and body_id in self.bodies

    # -- SQL ----------------------------------------------------------------------------------------
    def region_clause(self, column):
        return column.startswith(region_prefix(self.region_code)) if self.region_code else false()

    def body_clause(self, column):
        if self.bodies is None:
            return true() if self.region_code else false()
        return column.in_(sorted(self.bodies)) if self.bodies else false()

    def where(self, query, region_column, body_column):
        """``query`` restricted to rows in scope: region prefix AND body in the list (SQL, exact)."""
        return query.where(self.region_clause(region_column), self.body_clause(body_column))


NOTHING = Scope(None, frozenset())
