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



@pytest.mark.integration
def test_issue17_disc9_postgresql_window_walk_and_gin_give_the_same_pages_and_counts(engine, monkeypatch):
    """Issue 17 (DISC-9): PostgreSQL answers from the newest window, from a longer walk sized by the window's
    share of matches, or from the GIN index — every path gives the same page, "has more" and count."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the plan choice is PostgreSQL's; SQLite's FTS5 walks its doclists")
    requests = [dict(q="食品"), dict(q="超标排放"), dict(q="超标排放", page=2), dict(q="超标排放", page=3),
                dict(q="超标排放", date_from=D(2026, 4, 10), date_to=D(2026, 4, 20)), dict(q="品", action_type="penalty"),
                dict(q="食品", region_code="320100"), dict(action_type="penalty"), dict(q="罚款5000"),
                dict(q="第1", page_size=5), dict(q="超标排放", sort="amount")]

    def answers():
        out = []
        with Session(engine) as session:
            for kw in requests:
                result = portal.search_publications(session, search.SearchRequest(**kw))
                out.append(([int(r["decision_no"][len("武罚〔2026〕"):-1]) for r in result["results"]],
                            result["has_more"], result["total"]))
        return out

    paths = []
    for name in ("_pg_walk", "_pg_gin"):
        real = getattr(search, name)
        monkeypatch.setattr(search, name, lambda *a, _real=real, _name=name, **k: paths.append(_name) or _real(*a, **k))
    exact = answers()                      # the window (5,000) holds the whole table: no walk beyond it, no GIN
    assert set(paths) == {"_pg_walk"}
    assert exact[:4] == [([3, 2, 1], False, 3), (list(range(30, 10, -1)), True, 25), (list(range(10, 5, -1)), False, 25),
                         ([], False, 25)]
    assert exact[4] == (list(range(19, 8, -1)), False, 11) and exact[7] == (list(range(30, 10, -1)), True, 28)
    monkeypatch.setattr(search, "PG_RECENT_WINDOW", 3)
    for limit, path in ((10_000, "walked"), (0, "_pg_gin")):     # a walk long enough, then never a walk
        monkeypatch.setattr(search, "PG_WALK_LIMIT", limit)
        monkeypatch.setattr(search, "PG_RANGE_WALK_LIMIT", limit)
        paths.clear()
        assert answers() == exact, path
        assert (paths.count("_pg_walk") > len(requests)) if limit else ("_pg_gin" in paths), (path, paths)


def test_issue19_disc9_chinese_punctuation_separates_keywords_and_masks_are_not_indexed():
    """Issue 19 (DISC-9): "食品，罚款" / "食品、罚款" / "食品；罚款" are two keywords like "食品 罚款" (one phrase
    before: nothing matched); masked fragments (139****5678, 3204**********1234) give no tokens."""
    for q in ("食品，罚款", "食品、罚款", "食品；罚款", "食品 罚款", " 食品,罚款 "):
        assert [p.word for p in search.parse_query(q)] == ["食品", "罚款"], q
    tokens = search.index_tokens("张某（3204**********1234），电话139****5678，罚款5000元，车牌苏D12345")
    assert "3204" not in tokens and "1234" not in tokens and "139" not in tokens and "5678" not in tokens
    assert "5000" in tokens and "d12345" in tokens and "张某" in tokens


def _amount(session, n, day, text, fine, **kw):
    p = _add(session, n, day, text, **kw)
    p.fine_amount = fine
    return p


@pytest.fixture
def issue19_engine(service_engine):
    engine = service_engine("disclosure")
    with Session(engine) as session, session.begin():
        _amount(session, 1, D(2026, 5, 1), "销售过期食品，罚款5000元", "5000.00")
        _amount(session, 2, D(2026, 5, 2), "食品经营许可证过期，罚款500000元", "500000.00")
        _amount(session, 3, D(2026, 5, 3), "食品安全检查，责令改正", None)
        _amount(session, 4, D(2026, 5, 4), "销售过期食品，罚款80000元", "80000.00")
        p = _amount(session, 5, D(2026, 5, 5), "未按规定公示", "100.00")
        p.parties_public = "王某（3204**********1234，139****5678）"
        for i in range(6, 56):
            _amount(session, i, D(2026, 6, 1) + dt.timedelta(days=i), f"第{i}件 超标排放", f"{i}.00")
    return engine


def _page(engine, **kw):
    with Session(engine) as session:
        return portal.search_publications(session, search.SearchRequest(**kw))


def _numbers(result):
    return [int(r["decision_no"][len("武罚〔2026〕"):-1]) for r in result["results"]]


@pytest.mark.integration
def test_issue19_disc9_count_sort_by_amount_and_masked_fragments_on_both_engines(issue19_engine):
    """Issue 19 (DISC-9): "共 N 条" (exact up to 1,000); sort by amount (largest first, no amount last);
    "139" / "3204" do not match through masked phone and ID fragments; paging past the end still counts."""
    both = _page(issue19_engine, q="食品，罚款")
    assert _numbers(both) == [4, 2, 1] and both["total"] == 3 and not both["total_more"]
    by_amount = _page(issue19_engine, q="食品", sort="amount")
    assert _numbers(by_amount) == [2, 4, 1, 3] and by_amount["total"] == 4
    assert [r["fine_amount"] for r in by_amount["results"]][:3] == ["500000.00", "80000.00", "5000.00"]
    assert _numbers(_page(issue19_engine, q="139")) == [] and _numbers(_page(issue19_engine, q="3204")) == []
    everything = _page(issue19_engine, q="超标排放")
    assert everything["total"] == 50 and everything["has_more"] and len(everything["results"]) == 20
    last = _page(issue19_engine, q="超标排放", page=3)
    assert len(last["results"]) == 10 and last["total"] == 50 and not last["has_more"]
    past = _page(issue19_engine, q="超标排放", page=4)
    assert past["results"] == [] and past["total"] == 50          # the page can say "only 3 pages"
    page2 = _page(issue19_engine, q="超标排放", sort="amount", page=2)
    assert _numbers(page2) == list(range(35, 15, -1)) and page2["has_more"]
    with pytest.raises(search.SearchError):
        _page(issue19_engine, sort="fine")


@pytest.mark.integration
def test_issue19_disc9_migration_0011_reindexes_entries_indexed_with_masked_fragments(service_engine, monkeypatch):
    """Issue 19 (DISC-9): entries indexed before masked fragments were left out matched "139" / "3204"
    through 139****5678 and 3204**********1234; migration 0011 re-indexes them (both engines), once."""
    from alembic import command

    from services.common.migrations import alembic_config, upgrade

    engine = service_engine("disclosure")
    with monkeypatch.context() as patched:
        patched.setattr(search, "without_masked", lambda value: value)     # the index as it was built before
        with Session(engine) as session, session.begin():
            _add(session, 1, D(2026, 5, 5), "王某（3204**********1234，电话139****5678）未按规定公示")
            _add(session, 2, D(2026, 5, 6), "李某（139****0000）销售过期食品", status="withdrawn")
            _add(session, 3, D(2026, 5, 7), "第139号仓库 超标排放")
    assert _numbers(_page(engine, q="139")) == [3, 1] and _numbers(_page(engine, q="3204")) == [1]
    url = engine.url.render_as_string(hide_password=False)
    command.downgrade(alembic_config("disclosure", url), "0010")
    upgrade("disclosure", url)
    assert _numbers(_page(engine, q="139")) == [3]              # a real 139 still matches
    assert _numbers(_page(engine, q="3204")) == [] and _numbers(_page(engine, q="5678")) == []
    assert _numbers(_page(engine, q="王某 公示")) == [1] and _numbers(_page(engine, q="电话")) == [1]
    with Session(engine) as session:
        terms = dict(session.query(Publication.decision_no, Publication.search_terms))
        assert "139" not in terms["武罚〔2026〕1号"].split() and "139" not in terms["武罚〔2026〕2号"].split()
        assert search.reindex_masked(session.connection()) == 0    # nothing left to change
