"""The use cases of the review service (重大执法决定法制审核): what each entrypoint of ``service.py`` asks for.

Data flows one way — validate → decide (pure rules in ``services/review/domain``) → persist (queries in
``services/review/store.py``, one transaction with the events emitted to the outbox) → count (metrics
after commit). Every function takes the service's database access (``db``) first.

- :mod:`.classification` — 重大执法决定认定 and 送审: ``decision.proposed`` classified and a task opened,
  ``decision.made`` checked for 应审未审 (REV-1, REV-2, REV-4, REV-5, REV-7), case transfers (SEC-2)
- :mod:`.registry`       — review's copy of the registry, case actions and record gaps, and the pre-checks
  re-run when they change (REV-3, PLAT-2/3/4); staffing recounted (REV-7)
- :mod:`.reviewing`      — 审核: the reviewer's findings and opinion, the responsible person's sign-off,
  the unit's disagreement and the coordination (REV-3…REV-6)
- :mod:`.oversight`      — the gate for departmental systems (REV-2), violations, staffing, the periodic
  job: overdue tasks 超期, staffing, gauges (REV-5, REV-7)
"""
