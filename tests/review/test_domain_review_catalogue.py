"""Review catalogue (目录清单) and classification — REV-1.

The TABLE below runs proposals against the shipped config/review/catalogue.yaml; expected classes and
fired rule ids are written out by hand from that file's thresholds (natural 10000 / legal 100000 yuan,
township 5000 / 50000, 以上含本数).
"""
from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal

import pytest

from services.review.domain import CatalogueError, Proposal, classify, parse_catalogue
from services.review.configuration import load_catalogue
from services.review.domain.model import proposal_from_payload

TZ = dt.timezone(dt.timedelta(hours=8))
NATURAL = {"party_kind": "natural", "name": "张三", "id_number": None}
LEGAL = {"party_kind": "legal", "name": "某某有限公司", "id_number": None, "is_private_enterprise": True}
OTHER = {"party_kind": "other", "name": "某某合伙企业", "id_number": None}


def proposal(**kw) -> Proposal:
    base = dict(case_id="C-1", version=1, body_id="B-XH-SCJ", region_code="330106", action_type="penalty",
                matter_code="M-001", field="market_regulation", parties=(NATURAL,), officer_ids=("O1", "O2"),
                proposed_at=dt.datetime(2026, 3, 10, 10, 0, tzinfo=TZ))
    base.update(kw)
    return Proposal(**base)


@pytest.fixture(scope="module")
def shipped():
    return load_catalogue()


TABLE = [
    # (label, overrides, major, fired rule ids)
    ("nothing fires", {}, False, []),
    ("natural fine just below 10000", {"fine_amount": Decimal("9999.99")}, False, []),
    ("natural fine at 10000 (以上含本数)", {"fine_amount": Decimal("10000")}, True, ["amount.fine"]),
    ("natural fine 50000", {"fine_amount": Decimal("50000")}, True, ["amount.fine"]),
    ("legal fine 50000 is below the legal threshold", {"fine_amount": Decimal("50000"), "parties": (LEGAL,)}, False, []),
    ("legal fine 99999.99", {"fine_amount": Decimal("99999.99"), "parties": (LEGAL,)}, False, []),
    ("legal fine at 100000", {"fine_amount": Decimal("100000"), "parties": (LEGAL,)}, True, ["amount.fine"]),
    ("other organisation at 100000", {"fine_amount": Decimal("100000"), "parties": (OTHER,)}, True, ["amount.fine"]),
    ("natural + legal: lowest threshold applies", {"fine_amount": Decimal("10000"), "parties": (LEGAL, NATURAL)},
     True, ["amount.fine"]),
    ("natural confiscation at 10000", {"confiscation_amount": Decimal("10000")}, True, ["amount.confiscation"]),
    ("legal confiscation below 100000", {"confiscation_amount": Decimal("99999"), "parties": (LEGAL,)}, False, []),
    ("fine and confiscation are not added", {"fine_amount": Decimal("6000"), "confiscation_amount": Decimal("6000")},
     False, []),
    ("revoke licence 吊销许可证照", {"measures": ("revoke_licence",)}, True, ["measure.revoke_licence"]),
    ("withdraw permit", {"action_type": "permit", "measures": ("withdraw_permit",)}, True, ["measure.revoke_licence"]),
    ("order closure 责令关闭", {"measures": ("order_closure",)}, True, ["measure.order_closure"]),
    ("suspend production 责令停产停业", {"measures": ("suspend_production",)}, True, ["measure.suspend_production"]),
    ("restrict employment", {"measures": ("restrict_employment",)}, True, ["measure.restrict_employment"]),
    ("administrative detention", {"measures": ("administrative_detention",)}, True, ["measure.detention"]),
    ("detention of property 查封扣押", {"action_type": "coercive", "measures": ("detention_of_property",)},
     True, ["measure.coercive_property"]),
    ("forced demolition", {"action_type": "coercive", "measures": ("forced_demolition",)},
     True, ["measure.forced_demolition"]),
    ("large fine declared by the unit", {"measures": ("large_fine",)}, True, ["measure.large_amount"]),
    ("a warning is not a listed measure", {"measures": ("warning",)}, False, []),
    ("requisition 行政征用", {"action_type": "requisition"}, True, ["action.requisition"]),
    ("levy is not listed", {"action_type": "levy"}, False, []),
    ("hearing held 经过听证", {"hearing_requested": True, "hearing_held": True}, True, ["hearing.held"]),
    ("hearing only requested", {"hearing_requested": True}, False, []),
    ("major public interest", {"flags": {"major_public_interest": True}}, True, ["flag.major_public_interest"]),
    ("social risk", {"flags": {"social_risk": True}}, True, ["flag.social_risk"]),
    ("complex legal relations", {"flags": {"complex_legal_relations": True}}, True, ["flag.complex_legal_relations"]),
    ("required by law", {"flags": {"law_requires_review": True}}, True, ["flag.law_requires_review"]),
    ("field rule: ecology daily penalty", {"field": "ecology_environment", "measures": ("continuous_daily_penalty",)},
     True, ["field.ecology.daily_penalty"]),
    ("field rule does not apply in another field", {"measures": ("continuous_daily_penalty",)}, False, []),
    ("field rule restricted to penalties", {"field": "ecology_environment", "action_type": "coercive",
                                            "measures": ("continuous_daily_penalty",)}, False, []),
    ("township natural fine at 5000", {"region_code": "330106001", "fine_amount": Decimal("5000")},
     True, ["tier.township.fine"]),
    ("township natural fine 4999", {"region_code": "330106001", "fine_amount": Decimal("4999")}, False, []),
    ("county natural fine 5000: tier rule does not apply", {"fine_amount": Decimal("5000")}, False, []),
    ("township legal fine at 50000", {"region_code": "330106001", "fine_amount": Decimal("50000"), "parties": (LEGAL,)},
     True, ["tier.township.fine"]),
    ("township natural fine 10000: both", {"region_code": "330106001", "fine_amount": Decimal("10000")},
     True, ["amount.fine", "tier.township.fine"]),
    ("several at once (catalogue order)", {"fine_amount": Decimal("200000"), "parties": (LEGAL,),
                                           "measures": ("order_closure", "revoke_licence"), "hearing_held": True,
                                           "hearing_requested": True, "flags": {"social_risk": True}},
     True, ["amount.fine", "measure.revoke_licence", "measure.order_closure", "hearing.held", "flag.social_risk"]),
]


@pytest.mark.parametrize("label,overrides,major,fired", TABLE, ids=[row[0] for row in TABLE])
def test_rev1_classification_table(shipped, label, overrides, major, fired):
    result = classify(proposal(**overrides), shipped)
    assert result.major is major
    assert result.fired_rule_ids == fired
    assert result.sign_off_required is major  # default: sign_off true for major decisions


def test_rev1_fired_rule_carries_chinese_description_and_detail(shipped):
    result = classify(proposal(fine_amount=Decimal("12000")), shipped)
    assert len(result.fired) == 1
    fired = result.fired[0]
    assert fired.rule_id == "amount.fine"
    assert fired.description == "较大数额罚款"
    assert fired.detail == "罚款金额12000元，当事人为自然人，达到自然人标准10000元（以上含本数）"
    measure = classify(proposal(measures=("revoke_licence",)), shipped).fired[0]
    assert (measure.description, measure.detail) == ("吊销许可证照", "拟采取吊销许可证件（revoke_licence）")


def test_rev1_classification_records_layers_and_digest(shipped):
    result = classify(proposal(region_code="330106001", field="ecology_environment"), shipped)
    assert result.layers == ("default", "fields.ecology_environment", "tiers.township")
    assert result.catalogue_digest == shipped.digest and len(shipped.digest) == 16
    assert (result.case_id, result.version) == ("C-1", 1)


BODY_CATALOGUE = textwrap.dedent("""
    schema_version: 1
    default:
      sign_off: false
      rules:
        - {id: amount.fine, kind: amount, description: 较大数额罚款, amount: fine,
           thresholds: {natural: 10000, legal: 100000}}
        - {id: measure.order_closure, kind: measure, description: 责令关闭, measures: [order_closure]}
    bodies:
      B-BIG:
        sign_off: true
        disable: [measure.order_closure]
        rules:
          - {id: amount.fine, kind: amount, description: 较大数额罚款（本机关标准）, amount: fine,
             thresholds: {natural: 20000, legal: 200000}}
          - {id: body.matter, kind: matter, description: 法律规定应当审核的事项, matter_codes: [M-LAW]}
        fields:
          transport:
            rules:
              - {id: body.transport.hearing, kind: hearing, description: 当事人申请听证, when: requested}
""")


@pytest.fixture
def body_catalogue(tmp_path):
    path = tmp_path / "catalogue.yaml"
    path.write_text(BODY_CATALOGUE, encoding="utf-8")
    return load_catalogue(path)


@pytest.mark.parametrize("body,overrides,major,fired,sign_off", [
    ("B-OTHER", {"fine_amount": Decimal("15000")}, True, ["amount.fine"], False),
    ("B-BIG", {"fine_amount": Decimal("15000")}, False, [], False),
    ("B-BIG", {"fine_amount": Decimal("20000")}, True, ["amount.fine"], True),
    ("B-BIG", {"fine_amount": Decimal("150000"), "parties": (LEGAL,)}, False, [], False),
    ("B-OTHER", {"measures": ("order_closure",)}, True, ["measure.order_closure"], False),
    ("B-BIG", {"measures": ("order_closure",)}, False, [], False),
    ("B-BIG", {"matter_code": "M-LAW"}, True, ["body.matter"], True),
    ("B-OTHER", {"matter_code": "M-LAW"}, False, [], False),
    ("B-BIG", {"field": "transport", "hearing_requested": True}, True, ["body.transport.hearing"], True),
    ("B-BIG", {"field": "market_regulation", "hearing_requested": True}, False, [], False),
    ("B-BIG", {"parties": (OTHER,), "fine_amount": Decimal("10000000")}, False, [], False),  # no 'other' threshold
])
def test_rev1_per_body_override(body_catalogue, body, overrides, major, fired, sign_off):
    result = classify(proposal(body_id=body, **overrides), body_catalogue)
    assert (result.major, result.fired_rule_ids, result.sign_off_required) == (major, fired, sign_off)


def test_rev1_per_body_override_detail_names_body_threshold(body_catalogue):
    fired = classify(proposal(body_id="B-BIG", fine_amount=Decimal("20000")), body_catalogue).fired[0]
    assert fired.description == "较大数额罚款（本机关标准）"
    assert fired.detail == "罚款金额20000元，当事人为自然人，达到自然人标准20000元（以上含本数）"


def _bad(text: str):
    return parse_catalogue(__import__("yaml").safe_load(textwrap.dedent(text)), source="test.yaml")


@pytest.mark.parametrize("text,message", [
    ("""
     default:
       rules:
         - {id: a, kind: amount, description: 罚款, amount: fine, threshold: {natural: 1}}
     """, "default.rules.0.threshold: Unknown field."),
    ("""
     default:
       rules:
         - {id: a, kind: amount, description: 罚款, amount: fine, thresholds: {natural: -5}}
     """, "default.rules.0.thresholds.natural: threshold must be a positive number of yuan, got -5"),
    ("""
     default:
       rules:
         - {id: a, kind: amount, description: 罚款, amount: fine, thresholds: {natural: "10000"}}
     """, "threshold must be a positive number of yuan, got '10000'"),
    ("""
     default:
       rules:
         - {id: a, kind: amount, description: 罚款, amount: fine, thresholds: {natural: 0}}
     """, "threshold must be a positive number of yuan, got 0"),
    ("""
     default:
       rules:
         - {id: a, kind: amount, description: 罚款, amount: fine, thresholds: {person: 10}}
     """, "default.rules.0.thresholds.person: Must be one of: natural, legal, other."),
    ("""
     default:
       rules:
         - {id: a, kind: amount, description: 罚款, amount: tax, thresholds: {natural: 10}}
     """, "default.rules.0.amount: Must be one of: fine, confiscation, total."),
    ("""
     default:
       rules:
         - {id: a, kind: size, description: x}
     """, "default.rules.0.kind: Must be one of: action_type, amount"),
    ("""
     default:
       rules:
         - {id: a, kind: action_type, description: x, action_types: [fine]}
     """, "default.rules.0.action_types.0: Must be one of: penalty, permit"),
    ("""
     default:
       rules:
         - {id: a, kind: flag, description: x, flag: urgent}
     """, "default.rules.0.flag: Must be one of: major_public_interest"),
    ("""
     default:
       rules:
         - {id: a, kind: measure, description: x, measures: [order_closure]}
         - {id: a, kind: measure, description: y, measures: [revoke_licence]}
     """, "duplicate rule id 'a'"),
    ("""
     default:
       rules:
         - {id: a, kind: measure, measures: [order_closure]}
     """, "default.rules.0.description: Missing data for required field."),
    ("""
     default:
       rules:
         - {id: a, kind: measure, description: x, measures: [order_closure], applies_to: {tiers: [village]}}
     """, "default.rules.0.applies_to.tiers.0: Must be one of: province, city, county, township."),
    ("""
     default: {rules: []}
     bodies:
       B1: {disable: [no.such.rule]}
     """, "bodies.B1.disable: no rule with id 'no.such.rule' to disable"),
    ("""
     default: {rules: []}
     tiers:
       village: {rules: []}
     """, "tiers.village: unknown tier"),
    ("""
     default: {rules: [], sign_off: "yes"}
     """, "default.sign_off: expected true or false"),
    ("""
     rules: []
     """, "rules: Unknown field."),
    ("""
     fields: {}
     """, "default: Missing data for required field."),
])
def test_rev1_catalogue_validation_errors(text, message):
    with pytest.raises(CatalogueError) as err:
        _bad(text)
    assert message in str(err.value)
    assert "test.yaml" in str(err.value)


def test_rev1_invalid_yaml_file_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("default: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="not valid YAML"):
        load_catalogue(path)


def test_rev1_shipped_defaults_are_the_documented_ones(shipped):
    fine = next(r for r in shipped.default.rules if r.id == "amount.fine")
    assert fine.thresholds == {"natural": Decimal("10000"), "legal": Decimal("100000"), "other": Decimal("100000")}
    assert shipped.default.sign_off is True


def test_rev1_proposal_from_event_payload(shipped):
    payload = {"version": 2, "action_type": "penalty", "matter_code": "M-9", "field": "transport",
               "parties": [{"party_kind": "legal", "name": "甲公司", "id_number": None, "is_private_enterprise": True}],
               "fine_amount": Decimal("100000.00"), "confiscation_amount": None, "measures": [],
               "hearing_requested": False, "hearing_held": False,
               "flags": {"major_public_interest": False, "social_risk": False, "complex_legal_relations": False,
                         "law_requires_review": False},
               "officer_ids": ["O1", "O2"], "summary": "x", "proposed_at": dt.datetime(2026, 5, 6, 9, tzinfo=TZ),
               "submitted_by": "O1"}
    p = proposal_from_payload(payload, case_id="C-9", body_id="B-JT", region_code="330100")
    assert (p.case_id, p.version, p.body_id, p.tier.value, p.submitted_by) == ("C-9", 2, "B-JT", "city", "O1")
    assert classify(p, shipped).fired_rule_ids == ["amount.fine"]


def test_proposal_rejects_unknown_action_type_and_bad_region():
    with pytest.raises(ValueError, match="unknown action type"):
        proposal(action_type="fine")
    with pytest.raises(ValueError, match="region code"):
        proposal(region_code="12345")
    with pytest.raises(ValueError, match="non-negative"):
        proposal(fine_amount=Decimal("-1"))
