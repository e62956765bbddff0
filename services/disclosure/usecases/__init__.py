"""The use cases of the disclosure service (行政执法公示): what each entrypoint of ``service.py`` asks for.

Data flows one way — validate (scope, form) → decide (pure rules in ``services/disclosure/domain``) →
persist (the publication life cycle in ``lifecycle.py``, the register in ``register.py``, reports in
``reports.py``, draws in ``inspections.py``, other queries in ``store.py``; one transaction with the events
emitted to the outbox). Every function takes the service's database access (``db``) first; the day
(``today``) is the suite's clock's, read by the entrypoint, never a caller's.

- :mod:`.decisions` — 事后公开: ``decision.made`` published on time and redacted, ``decision.revoked``
  taken down, case transfers (DISC-3…DISC-6, SEC-2)
- :mod:`.registry`  — 事前公开: a copy of the departmental registry (bodies, officers, certificates, powers) (DISC-1, DISC-2, PLAT-4)
- :mod:`.public`    — the public portal's reads: search, a publication, a body's page, certificates, reports, draws (DISC-1, DISC-2, DISC-7…DISC-9)
- :mod:`.staff`     — staff work in scope: pending and late publications, corrections, withdrawals,
  before-information, basis changes, annual reports on demand (DISC-1, DISC-3…DISC-7, PLAT-4)
- :mod:`.draws`     — 双随机抽查: announce, draw, record results, publish the month (DISC-8)
- :mod:`.periodic`  — the leased jobs: deadlines and stale powers, annual reports (DISC-3, DISC-7, PLAT-4)
- :mod:`.shared`    — scope check, refusals, reading a day
"""
