"""DISC-8 "双随机、一公开": a verifiable random draw with recusal, and monthly results."""
import datetime as dt
import hashlib
import hmac

import pytest

from services.common.workdays import WorkingDayCalendar
from services.disclosure.domain.model import PartyKind
from services.disclosure.domain.random_inspection import (
    DrawError, DrawInputs, InspectionResult, announce_draw, derive_seed, draw, monthly_results_summary,
    perform_draw, seed_input, uniform, verify_draw)

TARGETS = tuple(f"9132010{n:02d}MA1TEST{n:02d}" for n in range(20, 0, -1))  # deliberately unsorted
INSPECTORS = ("32010020230005", "32010020230001", "32010020230003", "32010020230002",
              "32010020230006", "32010020230004")
RECUSALS = (("32010020230001", TARGETS[0]), ("32010020230002", TARGETS[0]), ("32010020230003", TARGETS[0]),
            ("32010020230004", TARGETS[0]), ("32010020230001", TARGETS[5]))


def inputs(**kw):
    base = dict(draw_id="SJ-320100-2026-06-001", matter="食品经营者监督检查", targets=TARGETS,
                inspectors=INSPECTORS, target_count=5, inspectors_per_target=2, recusals=RECUSALS)
    base.update(kw)
    return DrawInputs(**base)


def citizen_recompute(draw_id, public_value, targets, inspectors, k, m, recusals):
    """An independent implementation written only from docs/disclosure-rules.md."""
    seed = hashlib.new("sm3", f"{draw_id}|{public_value}".encode("utf-8")).digest()

    def rand(label, n):
        c = 0
        while True:
            x = int.from_bytes(hmac.new(seed, f"{label}|{c}".encode(), "sm3").digest(), "big")
            if x < 2 ** 256 - (2 ** 256 % n):
                return x % n
            c += 1

    a = sorted(targets)
    for i in range(k):
        j = i + rand(f"target|{i}", len(a) - i)
        a[i], a[j] = a[j], a[i]
    out = []
    for t in a[:k]:
        e = [p for p in sorted(inspectors) if (p, t) not in set(recusals)]
        for j in range(m):
            r = j + rand(f"inspector|{t}|{j}", len(e) - j)
            e[j], e[r] = e[r], e[j]
        out.append((t, tuple(e[:m])))
    return out


def test_sm3_is_available_and_standard():
    # GB/T 32905 test vector for "abc"
    assert hashlib.new("sm3", b"abc").hexdigest() == \
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_disc8_draw_recomputed_from_published_inputs():
    result = draw(inputs(), "03 08 15 21 27 33 + 09")
    assert result.seed_input == "SJ-320100-2026-06-001|03 08 15 21 27 33 + 09"
    assert result.seed_hex == hashlib.new("sm3", result.seed_input.encode()).hexdigest()
    expected = citizen_recompute("SJ-320100-2026-06-001", "03 08 15 21 27 33 + 09", TARGETS, INSPECTORS, 5, 2, RECUSALS)
    assert [(a.target_id, a.inspector_ids) for a in result.assignments] == expected
    assert verify_draw(result, inputs(), "03 08 15 21 27 33 + 09") is True
    # the order in which the directories are listed does not matter (they are sorted)
    shuffled = inputs(targets=tuple(sorted(TARGETS)), inspectors=tuple(reversed(INSPECTORS)))
    assert verify_draw(result, shuffled, "03 08 15 21 27 33 + 09") is True


def test_disc8_tampered_result_or_inputs_fail_verification():
    result = draw(inputs(), "3088.17")
    swapped = result.assignments[0].__class__(result.assignments[0].target_id,
                                              tuple(reversed(result.assignments[0].inspector_ids)))
    forged = result.__class__(result.draw_id, result.algorithm, result.seed_input, result.seed_hex,
                              result.inputs_digest, (swapped,) + result.assignments[1:])
    assert verify_draw(forged, inputs(), "3088.17") is False
    assert verify_draw(result, inputs(target_count=6), "3088.17") is False
    assert verify_draw(result, inputs(), "3088.18") is False


def test_disc8_different_seed_gives_different_draw():
    a = draw(inputs(), "3088.17")
    b = draw(inputs(), "3088.18")
    assert a.seed_hex != b.seed_hex
    assert a.assignments != b.assignments


def test_disc8_recusal_respected_and_two_inspectors_per_target():
    for n in range(60):
        result = draw(inputs(target_count=20), f"value-{n}")
        targets = [a.target_id for a in result.assignments]
        assert len(targets) == 20 and len(set(targets)) == 20
        for a in result.assignments:
            assert len(a.inspector_ids) == 2 and len(set(a.inspector_ids)) == 2
            assert all((p, a.target_id) not in RECUSALS for p in a.inspector_ids)
        first = next(a for a in result.assignments if a.target_id == TARGETS[0])
        assert set(first.inspector_ids) == {"32010020230005", "32010020230006"}  # the only two left


def test_disc8_uniform_is_in_range_and_spreads():
    seed = derive_seed("D", "v")
    values = [uniform(seed, f"t|{i}", 7) for i in range(700)]
    assert set(values) == set(range(7))
    assert all(60 <= values.count(v) <= 140 for v in range(7))


def test_disc8_rules_enforced():
    with pytest.raises(DrawError):
        draw(inputs(inspectors_per_target=1), "v")  # at least two inspectors
    with pytest.raises(DrawError):
        draw(inputs(target_count=21), "v")
    with pytest.raises(DrawError):  # recusal leaves fewer than 3 for the first target
        draw(inputs(target_count=20, inspectors_per_target=3), "v")
    with pytest.raises(DrawError):
        draw(inputs(targets=TARGETS + (TARGETS[0],)), "v")
    with pytest.raises(DrawError):
        seed_input("bad|id", "v")


def test_disc8_seed_source_announced_before_the_draw():
    now = dt.datetime(2026, 5, 28, 10, 0)
    ann = announce_draw(inputs(), "2026年6月1日中国福利彩票双色球开奖号码", dt.date(2026, 6, 1), now)
    assert ann.inputs_digest == inputs().digest()
    assert "SM3" in ann.text_zh() and ann.draw_id in ann.text_zh()
    with pytest.raises(DrawError):  # the public value must come after the announcement
        announce_draw(inputs(), "当日收盘指数", dt.date(2026, 5, 28), now)
    with pytest.raises(DrawError):  # not yet public
        perform_draw(ann, inputs(), "03 08 15 21 27 33 + 09", today=dt.date(2026, 5, 31))
    with pytest.raises(DrawError):  # directory changed after the announcement
        perform_draw(ann, inputs(targets=TARGETS[1:]), "03 08 15 21 27 33 + 09", today=dt.date(2026, 6, 1))
    result = perform_draw(ann, inputs(), "03 08 15 21 27 33 + 09", today=dt.date(2026, 6, 1))
    assert verify_draw(result, inputs(), "03 08 15 21 27 33 + 09", announcement=ann)


def test_disc8_monthly_results_summary(tmp_path):
    cal = WorkingDayCalendar.load(tmp_path)
    results = [
        InspectionResult("SJ1", TARGETS[0], "南京某某餐饮有限公司", PartyKind.LEGAL, "食品经营", dt.date(2026, 9, 3),
                         "no_problem"),
        InspectionResult("SJ1", "P-1", "王小二", PartyKind.NATURAL, "食品经营", dt.date(2026, 9, 10),
                         "problem_rectified"),
        InspectionResult("SJ1", TARGETS[2], "南京某某超市", PartyKind.LEGAL, "食品经营", dt.date(2026, 9, 30),
                         "no_problem"),
    ]
    s = monthly_results_summary("南京市市场监督管理局", 2026, 9, results, cal)
    assert s.total == 3 and s.by_outcome["no_problem"] == 2 and s.by_outcome["problem_rectified"] == 1
    assert [r.target_name for r in s.rows] == ["南京某某餐饮有限公司", "王某", "南京某某超市"]
    assert s.rows[1].target_id == ""
    # 20 working days after 2026-09-30: 10-8 … 11-3 (see the deadline tests)
    assert s.publication_deadline.due == dt.date(2026, 11, 3)
    assert s.text_zh == ("南京市市场监督管理局2026年9月“双随机、一公开”抽查结果：共抽查3户，其中未发现问题2户，"
                         "发现问题，已责令整改1户。（应于2026-11-03前公开）")
    with pytest.raises(ValueError):
        monthly_results_summary("x", 2026, 8, results, cal)
