"""The use cases of the records service (全过程记录) beside its ingest pipeline (``services/records/ingest.py``):
what each RPC, timer and witnessing handler of ``service.py`` asks for.

Data flows one way — validate (scope, form) → decide (pure rules in ``services/records/domain``) →
persist (the Merkle log through ``store.Appender`` inside ``Ledger.appending``, queries in ``store.py``)
→ emit (outbox) → count (metrics). Every function takes the service's database access (``db``) first,
then the process's ledger (``ledger``) where it appends to or proves from the log.

- :mod:`.access`      — 调阅登记: every read of case records appends an ``access`` entry (REC-6)
- :mod:`.reading`     — the timeline, entries, a party's records, accesses, gaps, refusals (REC-1, REC-3, REC-4…REC-7)
- :mod:`.proofs`      — 签名树头 and proofs: inclusion, consistency, heads, the verification page, the signing timer (REC-4)
- :mod:`.attachments` — 附件 by content hash: upload, read in scope (REC-4, SEC-2)
- :mod:`.corrections` — 更正补录 authorised by a supervisor, also of a sealed case (REC-5)
- :mod:`.retention`   — 个人信息删除 after the retention period (REC-8)
- :mod:`.witnessing`  — 上级见证: heads witnessed across tiers, the fork alarm, key hand-over (REC-4, PLAT-1)
- :mod:`.audit`       — 操作审计: the staff audit trail, its search and purge (SEC-3)
"""
