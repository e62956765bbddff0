"""DISC-9 Chinese full-text search: the bigram index on SQLite (FTS5) and PostgreSQL (tsvector + GIN)
through the same store functions the service and the benchmark use."""
import datetime as dt
import uuid

import pytest
from sqlalchemy.orm import Session

from services.disclosure import portal, search
from services.disclosure.models import Counter, Publication

D = dt.date


def test_disc9_tokens_are_cjk_bigrams_with_the_runs_last_character_and_words():
    assert search.index_tokens("销售过期食品，罚款5000元。ABC") == ["销售", "售过", "过期", "期食", "食品", "品", "罚款", "款",
                                                             "5000", "元", "abc"]
    assert search.index_tokens("ＡＢ１２") == ["ab12"]  # NFKC: full-width letters and digits
    phrases = search.parse_query("过期食品  罚款5000 罚 〔2026〕8")
    assert [(p.tokens, p.prefix) for p in phrases] == [
        (("过期", "期食", "食品"), False), (("罚款", "款", "5000"), True), (("罚",), True), (("2026", "8"), True)]
    assert search.parse_query("，。") == []


def _add(session, n, day, text, body="320412-SCJG", region="320412", action="penalty", status="published"):
    seq = search.next_sequence(session, Counter)
    p = Publication(publication_id=str(uuid.uuid4()), case_id=f"C{n}", decision_no=f"武罚〔2026〕{n}号",
                    region_code=region, body_id=body, action_type=action, category=text, decided_on=day, due_on=day,
                    due_provisional=False, status=status, parties_public="王某", facts_public=text, conclusion_public="",
                    legal_basis="", search_text=f"武罚〔2026〕{n}号 {text}", history=[], updated_at=dt.datetime.now(dt.timezone.utc),
                    search_key=search.search_key(day, seq), version=1, revision=1, corrections=0, summary_only=False)
    session.add(p)
    if status in search.PUBLIC_STATUSES:
        p.search_terms = search.doc_terms(p.search_text, body, region, action)
        search.add_to_index(session, p.search_key, p.publication_id, p.search_terms)
    return p


@pytest.fixture
def engine(service_engine):
    engine = service_engine("disclosure")
    with Session(engine) as session, session.begin():
        _add(session, 1, D(2026, 3, 1), "销售过期食品")
        _add(session, 2, D(2026, 3, 2), "食品，安全检查", action="inspection")
        _add(session, 3, D(2026, 3, 3), "销售不符合食品安全标准的食品", body="320105-YJ", region="320105")
        _add(session, 4, D(2026, 3, 4), "违规储存危险化学品，罚款5000元")
        _add(session, 5, D(2026, 3, 5), "销售过期食品（已撤下）", status="withdrawn")
        for i in range(6, 31):
            _add(session, i, D(2026, 4, 1) + dt.timedelta(days=i), f"第{i}件 超标排放")
    return engine


def numbers(engine, **kw):
    with Session(engine) as session:
        result = portal.search_publications(session, search.SearchRequest(**kw))
    return [int(r["decision_no"][len("武罚〔2026〕"):-1]) for r in result["results"]], result["has_more"]


@pytest.mark.integration
def test_disc9_substring_semantics_filters_dates_and_paging_on_both_engines(engine):
    assert numbers(engine, q="食品") == ([3, 2, 1], False)           # newest first; withdrawn not public
    assert numbers(engine, q="食品安全") == ([3], False)               # "食品，安全" is not the phrase
    assert numbers(engine, q="过期 食品") == ([1], False)              # words are ANDed
    assert numbers(engine, q="品") == ([4, 3, 2, 1], False)            # one character (化学品 too)
    assert numbers(engine, q="罚款5000") == ([4], False)
    assert numbers(engine, q="罚款500") == ([4], False)                 # an alphanumeric run matches from its start
    assert numbers(engine, q="化学品罚") == ([], False)                 # across punctuation: no
    assert numbers(engine, q="食品", body_id="320105-YJ") == ([3], False)
    assert numbers(engine, q="食品", region_code="320100") == ([3], False)   # city covers its districts
    assert numbers(engine, q="食品", region_code="320000") == ([3, 2, 1], False)
    assert numbers(engine, q="食品", action_type="inspection") == ([2], False)
    assert numbers(engine, q="食品", date_from=D(2026, 3, 2), date_to=D(2026, 3, 2)) == ([2], False)
    assert numbers(engine, action_type="penalty", date_to=D(2026, 3, 31)) == ([4, 3, 1], False)
    first, more = numbers(engine, q="超标排放")
    assert first == list(range(30, 10, -1)) and more
    assert numbers(engine, q="超标排放", page=2) == (list(range(10, 5, -1)), False)
    with pytest.raises(search.SearchError):
        numbers(engine, q="超标排放", page=51)
