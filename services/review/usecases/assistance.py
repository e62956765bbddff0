"""Assistance for a proposed decision under review (辅助审核) — REV-8 (issue 18).

For the current version of a task in the caller's scope: the matter's legal articles and discretion benchmark
(config/review/benchmarks.yaml) with the fine's place in it, and a draft decision document filled from the
templates of config/review/drafts.yaml. The similar published decisions come from disclosure (the gateway
asks its ``similar_decisions`` RPC with the ``similar_query`` answered here): published decisions, their
corrections and take-downs live in disclosure, so review keeps no copy that could show a withdrawn decision.
"""
from __future__ import annotations

from services.review import configuration, store
from services.review.domain import benchmark_advice, draft_context, render_draft
from services.review.store import Actor, ReviewError
from services.review.usecases.reviewing import today


def assistance(db, task_id, actor) -> dict:
    actor = Actor.of(actor)
    with db.session() as session:
        row, task = store.load_for_actor(session, task_id, actor, lock=False)     # 404 outside the scope
        body_name = store.body_name(session, row.body_id) or row.body_id
    proposal = task.current.proposal
    benchmarks = configuration.benchmarks()
    if benchmarks is None:
        raise ReviewError(503, "unavailable", "裁量基准配置暂不可用，请稍后再试")
    advice = benchmark_advice(proposal, benchmarks)
    benchmark = benchmarks.get(proposal.matter_code)
    draft = render_draft(configuration.drafts(), draft_context(proposal, advice, benchmark, body_name, today()))
    return {
        "task_id": row.task_id, "case_id": proposal.case_id, "version": proposal.version,
        "matter_code": proposal.matter_code, "matter_name": advice.matter_name,
        "articles": [{"citation": a.citation, "role": a.role} for a in advice.articles],
        "benchmark": {"found": advice.found,
                      "statutory_range": ({"min": str(benchmark.statutory_min), "max": str(benchmark.statutory_max)}
                                          if benchmark else None),
                      "circumstances": [{"code": r.code, "name": r.name, "min": str(r.min), "max": str(r.max),
                                         "conditions": r.conditions} for r in (benchmark.circumstances
                                                                               if benchmark else ())],
                      "fine": None if advice.fine is None else str(advice.fine),
                      "within_statutory": advice.within_statutory, "within_benchmark": advice.within_benchmark,
                      "matching_circumstances": list(advice.matching_circumstances), "message": advice.message},
        "draft": {"template": draft.template, "title": draft.title, "text": draft.text, "blanks": list(draft.blanks)},
        "similar_query": {"matter_code": proposal.matter_code, "facts": proposal.summary,
                          "fine_amount": None if proposal.fine_amount is None else str(proposal.fine_amount),
                          "exclude_case_id": proposal.case_id},
    }
