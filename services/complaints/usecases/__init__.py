"""The use cases of the complaints service (投诉举报): what each entrypoint of ``service.py`` asks for.

Data flows one way — validate → decide (pure rules in ``services/complaints/domain``) → persist
(queries in ``services/complaints/store.py``, one transaction with the events emitted to the outbox)
→ count (metrics after commit). Every function takes the service's database access (``db``) first.

- :mod:`.registration` — 编号登记 from a channel system, the portal and staff; the body directory (CMP-1, CMP-2)
- :mod:`.handling`     — 受理 / 不予受理 / 办理进展 / 办结 / 转办 / 延期, the handler view (CMP-3…CMP-5, CMP-9, COORD-1)
- :mod:`.public`       — what the complainant and the portal see: status, rating, channels (CMP-1, CMP-4, EVAL-7)
- :mod:`.reading`      — the register, the body's view, the private-enterprise report (CMP-6, SEC-2)
- :mod:`.deadlines`    — the deadline sweep: escalation 逐级上报 and overdue clues (CMP-3, CMP-5, CMP-9)
- :mod:`.supervision`  — across tiers: the province's supervision register 省级督办台账 and 上级交办 (COORD-4)
- :mod:`.shared`       — the expected refusal of a request and the suite's clock
"""
