"""PLAT-1 (issue 20): a chaos round's verdict fails closed — a problem the counts do not show (the fault
itself failed or never finished, the effects could not be counted) fails the round, and the log line
names the fault's error first."""
from tests.chaos.harness import RoundResult


def clean(**changes) -> RoundResult:
    result = RoundResult("kill-records", 1, attempted=300, confirmed=300, applied_once=300, verify="ok", drained=True)
    for name, value in changes.items():
        setattr(result, name, value)
    return result


def test_plat1_a_clean_round_passes():
    assert clean().ok
    assert clean().summary().startswith("ok — attempted 300, lost 0")


def test_plat1_a_failed_fault_fails_the_round_even_with_perfect_counts():
    result = clean(problems=["the fault failed: RuntimeError('pg_ctl promote: no standby')"])
    assert not result.ok
    assert "the fault failed: RuntimeError" in result.summary()


def test_plat1_each_count_fails_the_round():
    for changes in ({"lost": 1}, {"duplicated": 1}, {"dead_lettered": 1}, {"verify": "FAILED: leaf 3"},
                    {"drained": False}, {"confirmed": 299}):
        assert not clean(**changes).ok, changes
