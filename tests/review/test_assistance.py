"""REV-8 (issue 18): assistance for a proposed decision — similar published decisions ranked by their facts
and the distribution of their fines (disclosure's pure rules), and a draft decision document rendered from
config/review/drafts.yaml with the matter's law articles and discretion benchmark filled in (review's)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.common.configfile import ConfigFileError
from services.disclosure.domain import similar
from services.review.configuration import load_benchmarks, load_drafts
from services.review.domain import Proposal, benchmark_advice, draft_context, parse_drafts, render_draft

CHINA = dt.timezone(dt.timedelta(hours=8))


def proposal(**kw) -> Proposal:
    base = dict(case_id="C-1", version=1, body_id="320412-SCJG", region_code="320412", action_type="penalty",
                matter_code="SAMPLE-SP-126-3", field="market_regulation",
                parties=({"party_kind": "legal", "name": "常州某某食品商行"},), officer_ids=("o-1", "o-2"),
                proposed_at=dt.datetime(2026, 11, 2, 10, tzinfo=CHINA), fine_amount=Decimal("20000"),
                summary="当事人经营的食品未按规定建立进货查验记录，经责令改正后拒不改正")
    base.update(kw)
    return Proposal(**base)


def candidate(n, facts, fine, day="2026-10-01", case=None):
    return similar.Candidate(f"p-{n}", case or f"case-{n}", f"武市监罚〔2026〕{n}号", "320412-SCJG", "武进区市场监管局",
                             day, facts, None if fine is None else Decimal(fine))


def test_rev8_similar_decisions_ranked_by_facts_and_never_the_case_itself():
    facts = "食品经营者未建立进货查验记录，责令改正后拒不改正"
    candidates = [candidate(1, "当事人销售超过保质期的食品", "5000"),
                  candidate(2, "当事人未按规定建立进货查验记录，经责令改正拒不改正", "20000"),
                  candidate(3, "未建立进货查验记录", "10000"),
                  candidate(4, facts, "30000", case="C-1")]                 # the case under review
    ranked = similar.rank(facts, candidates, limit=2, exclude_case_id="C-1")
    assert [r.candidate.publication_id for r in ranked] == ["p-2", "p-3"]
    assert ranked[0].score > ranked[1].score > similar.similarity(facts, candidates[0].facts)
    assert similar.similarity(facts, facts) == Decimal("1.000") and similar.similarity("", facts) == 0
    # masked fragments are not evidence of similarity (139****5678 in both texts)
    assert similar.similarity("电话139****5678", "电话139****5678") == similar.similarity("电话139", "电话139")


def test_rev8_distribution_of_amounts_and_the_proposed_fine_in_it():
    spread = similar.distribution([Decimal(v) for v in ("5000", "10000", "20000", "40000")] + [None],
                                  Decimal("20000"))
    assert (spread.count, spread.minimum, spread.median, spread.maximum) == (4, Decimal("5000.00"),
                                                                              Decimal("15000.00"), Decimal("40000.00"))
    assert (spread.lower_quartile, spread.upper_quartile) == (Decimal("8750.00"), Decimal("25000.00"))
    assert spread.at_or_below_proposed == 3
    assert spread.message == ("同一执法事项已公开罚款决定4件，罚款5,000.00元至40,000.00元，中位数15,000.00元"
                              "（四分位8,750.00元至25,000.00元）；拟处罚款20,000.00元，不低于其中3件")
    assert "高于全部已公开决定" in similar.distribution([Decimal(1)], Decimal(2)).message
    assert similar.distribution([], Decimal(2)).message == "同一执法事项尚无已公开的罚款决定"


def test_rev8_draft_decision_document_has_the_articles_benchmark_parties_and_facts():
    benchmarks, templates = load_benchmarks(), load_drafts()
    p = proposal()
    advice = benchmark_advice(p, benchmarks)
    draft = render_draft(templates, draft_context(p, advice, benchmarks[p.matter_code], "常州市武进区市场监督管理局",
                                                  dt.date(2026, 11, 3)))
    assert (draft.template, draft.title) == ("penalty", "行政处罚决定书")
    text = draft.text
    assert "当事人：常州某某食品商行（法人）" in text
    assert "经查，当事人经营的食品未按规定建立进货查验记录，经责令改正后拒不改正" in text
    assert "违反了《中华人民共和国食品安全法》第五十三条的规定" in text
    assert ("依据《中华人民共和国食品安全法》第一百二十六条第一款第三项，参照本机关行政处罚裁量基准（一般处罚，"
            "法定幅度人民币5,000.00元至人民币50,000.00元）") in text
    assert "一、处以罚款人民币20,000.00元；" in text
    assert "（草稿，2026年11月3日生成；裁量基准提示：适用条款：" in text
    assert draft.blanks == ("文书号", "签发日期")
    # another action type takes the default template; no summary leaves a marked blank
    other = proposal(action_type="coercive", fine_amount=None, summary="", measures=("detention_of_property",))
    d = render_draft(templates, draft_context(other, benchmark_advice(other, benchmarks), None, "某局",
                                              dt.date(2026, 11, 3)))
    assert d.template == "default" and d.title == "行政执法决定书" and "行政强制决定书" in d.text
    assert "查封、扣押场所、设施或者财物；" in d.text
    assert "案情摘要" in d.blanks


def test_rev8_drafts_yaml_templates_that_do_not_render_are_refused():
    with pytest.raises(ConfigFileError, match=r"templates\.penalty\.template: template does not render"):
        parse_drafts({"schema_version": 1, "templates": {"default": {"title": "决定书", "template": "{{ body_name }}"},
                                                         "penalty": {"title": "决定书", "template": "{{ no_such }}"}}})
    with pytest.raises(ConfigFileError, match="a 'default' template is required"):
        parse_drafts({"schema_version": 1, "templates": {"penalty": {"title": "决定书", "template": "x"}}})
    with pytest.raises(ConfigFileError, match="not an action type"):
        parse_drafts({"schema_version": 1, "templates": {"default": {"title": "t", "template": "x"},
                                                         "fine": {"title": "t", "template": "x"}}})
