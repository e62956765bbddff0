"""The use cases of the evaluation service (评议考核、责任追究): what each entrypoint of ``service.py``
asks for. Each opens the transaction, calls the pure rules (``services/evaluation/domain``), the
evaluation over facts (``engine.py``), the case / item / consequence workflow (``workflow.py``) and the
reports (``reports.py``), and reads and writes through ``store.py``. Every function takes the service's
database access (``db``) first.

- :mod:`.facts`          — events → facts (事实采集), the registry copies, case transfers (EVAL-1, EVAL-2, SEC-2)
- :mod:`.grading`        — scores, grades, evidence, the year's finalisation, the periodic job (EVAL-2…EVAL-4, EVAL-9)
- :mod:`.accountability` — accountability cases 责任追究, consequences 结果运用, supervision items 监督事项 (EVAL-6, COORD-4)
- :mod:`.tiers`          — across tiers: directives received, cities' final grades, link heartbeats (PLAT-1, COORD-4)
- :mod:`.shared`         — today by the suite's clock, the scope check of region-wide views
"""
