"""Register numbers, query codes and duplicate detection (CMP-2)."""
from __future__ import annotations

import pytest

from services.complaints.domain import (Complainant, ConfigError, DuplicateCandidate, DuplicateRules,
                                        InvalidRegisterNumber, RegisterNumber, find_duplicate,
                                        format_register_number, hash_query_code,
                                        load_duplicate_rules, new_query_code, parse_register_number, similarity,
                                        verify_query_code)
from services.complaints.domain.register import QUERY_CODE_ALPHABET, bigrams
from tests.complaints.test_domain_builders import QUERY_CODE, QUERY_HASH, at, complaint, subject


# --- register number ----------------------------------------------------------------------------

@pytest.mark.parametrize("region, year, seq, text", [
    ("320412", 2026, 123, "320412-2026-000123"),
    ("110105", 2026, 1, "110105-2026-000001"),
    ("320400", 2027, 999999, "320400-2027-999999"),
    ("320412001", 2026, 45, "320412-2026-000045"),   # township files under its county
])
def test_cmp2_register_number_format_parse_round_trip(region, year, seq, text):
    assert format_register_number(region, year, seq) == text
    parsed = parse_register_number(text)
    assert parsed == RegisterNumber(region[:6], year, seq)
    assert str(parsed) == text


def test_cmp2_register_number_tolerates_full_width_input():
    assert parse_register_number(" ３２０４１２－２０２６－０００１２３ ") == RegisterNumber("320412", 2026, 123)


@pytest.mark.parametrize("text", [
    "", "320412-2026-123", "320412-26-000123", "32041-2026-000123", "320412-2026-0001234",
    "320412/2026/000123", "320412-2026-000000", "000000-2026-000001", "320412-1999-000001",
    "ABCDEF-2026-000001", "320412-2026-000123x", "320412001-2026-000001",
])
def test_cmp2_malformed_register_numbers_are_rejected(text):
    with pytest.raises(InvalidRegisterNumber) as exc:
        parse_register_number(text)
    assert "登记编号" in exc.value.message


@pytest.mark.parametrize("args", [("3204", 2026, 1), ("320412", 1999, 1), ("320412", 2026, 0),
                                  ("320412", 2026, 1_000_000), ("320412", True, 1)])
def test_cmp2_format_refuses_bad_parts(args):
    with pytest.raises(ValueError):
        format_register_number(*args)


# --- query code ---------------------------------------------------------------------------------

def test_cmp2_query_code_uses_unambiguous_alphabet():
    for _ in range(50):
        code = new_query_code()
        assert len(code) == 8
        assert set(code) <= set(QUERY_CODE_ALPHABET)
    assert not set("0O1IL") & set(QUERY_CODE_ALPHABET)


def test_cmp2_query_code_verifies_true_and_false():
    assert verify_query_code(QUERY_CODE, QUERY_HASH) is True
    assert verify_query_code("k7qm-4wzp", QUERY_HASH) is True       # case and dash tolerated
    assert verify_query_code("K7QM4WZQ", QUERY_HASH) is False       # one character off
    assert verify_query_code("", QUERY_HASH) is False
    assert verify_query_code("K7QM4WZPX", QUERY_HASH) is False
    assert verify_query_code("中文查询码", QUERY_HASH) is False


def test_cmp2_stored_form_does_not_contain_code_and_is_salted():
    assert QUERY_CODE not in QUERY_HASH and QUERY_CODE.lower() not in QUERY_HASH.lower()
    assert QUERY_HASH.startswith("scrypt$16384$8$1$")
    again = hash_query_code(QUERY_CODE)
    assert again != QUERY_HASH                                       # per-complaint salt
    assert verify_query_code(QUERY_CODE, again)


def test_cmp2_malformed_stored_hash_is_a_fault_not_a_false():
    with pytest.raises(ValueError):
        verify_query_code(QUERY_CODE, "K7QM4WZP")
    with pytest.raises(ValueError):
        hash_query_code("OOOO1111")                                  # not from the alphabet


# --- duplicate detection ------------------------------------------------------------------------

def test_cmp2_bigram_jaccard_hand_computed():
    # a: 11 distinct bigrams; b: 13; shared: 要求 求撤 撤销 销罚 罚款 款决 决定 定并 并退 退还 → 10/14
    a, b = "要求撤销罚款决定并退还罚款", "要求撤销罚款决定，并退还已缴罚款"
    assert len(bigrams(a)) == 11 and len(bigrams(b)) == 13
    assert similarity(a, b) == pytest.approx(10 / 14)
    assert similarity("", a) == 0.0


def _earlier(**over):
    base = dict(request="要求撤销罚款决定，并退还已缴罚款", received_at=at(2026, 9, 10))
    base.update(over)
    return complaint(**base)


def test_cmp2_duplicate_detected_same_person_same_body_similar_text():
    new = complaint(received_at=at(2026, 9, 30))
    candidates = [DuplicateCandidate("320412-2026-000100", _earlier()),
                  DuplicateCandidate("320412-2026-000101", _earlier(request="要求公开执法人员证件信息"))]
    match = find_duplicate(new, candidates, DuplicateRules(30, 0.6))
    assert match is not None
    assert match.register_number == "320412-2026-000100"
    assert match.similarity == pytest.approx(0.7143)
    assert match.days_apart == 20


def test_cmp2_duplicate_matches_on_id_number_when_phone_differs():
    new = complaint(complainant=Complainant("王小明", "0519-86661234", "320412199001011231"))
    assert find_duplicate(new, [DuplicateCandidate("320412-2026-000100", _earlier())]) is not None


@pytest.mark.parametrize("over, why", [
    (dict(complainant=Complainant("李四", "13900000000")), "another complainant"),
    (dict(subject=subject(body_id="body-320412-cg")), "another body"),
    (dict(received_at=at(2026, 8, 30)), "31 days earlier, outside the 30-day window"),
    (dict(request="要求依法查处无证经营的门店"), "dissimilar request"),
])
def test_cmp2_duplicate_negative(over, why):
    new = complaint(received_at=at(2026, 9, 30))
    assert find_duplicate(new, [DuplicateCandidate("320412-2026-000100", _earlier(**over))]) is None, why


def test_cmp2_duplicate_rules_load_and_validate(tmp_path):
    assert load_duplicate_rules() == DuplicateRules(30, 0.6)
    bad = tmp_path / "dup.yaml"
    bad.write_text("window_days: 30\nthreshold: 1.5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="threshold"):
        load_duplicate_rules(bad)
    bad.write_text("threshold: 0.5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="window_days"):
        load_duplicate_rules(bad)
