"""DISC-5 correction and DISC-6 take-down: one publication mechanism with a history."""
import dataclasses
import datetime as dt

import pytest

from services.common.identifiers import resident_id_check_char
from services.disclosure.domain.model import ActionType, Decision, IdType, Party, PartyKind
from services.disclosure.domain.publication import (
    Action, InvalidTransition, Publication, PublicationState, WithdrawalReason, link_remade)
from services.disclosure.domain.redaction import PersonalDataLeak, redact_decision

ID_A = "32010219850312123" + resident_id_check_char("32010219850312123")
ZHANG = Party(PartyKind.NATURAL, "张三丰", IdType.RESIDENT_ID, ID_A, "13812345678")
T0 = dt.datetime(2026, 3, 12, 9, 0)


def entry(case_id="C1", decision_no="宁市监罚〔2026〕123号", conclusion="罚款50000元"):
    d = Decision(case_id, decision_no, 1, "B1", "南京市市场监督管理局", "320100", ActionType.PENALTY,
                 "无照经营", (ZHANG,), "当事人张三丰无照经营。", "《无证无照经营查处办法》第十三条",
                 conclusion, dt.date(2026, 3, 10))
    return redact_decision(d).entry


def published(pid="P1", case_id="C1", decision_no="宁市监罚〔2026〕123号"):
    p = Publication(pid, case_id, decision_no)
    p.publish(entry(case_id, decision_no), T0, "u-officer-1", parties=(ZHANG,))
    return p


def test_disc6_publish_correct_withdraw_history():
    p = published()
    assert p.state is PublicationState.PUBLISHED and p.published_on == dt.date(2026, 3, 12)
    p.correct(entry(conclusion="罚款30000元"), T0 + dt.timedelta(days=2), "u-officer-2",
              "处理结果录入错误，当事人张三丰的罚款金额应为30000元", parties=(ZHANG,))
    assert p.state is PublicationState.CORRECTED
    assert [r.number for r in p.revisions] == [1, 2]
    assert p.current.conclusion == "罚款30000元"
    p.withdraw(WithdrawalReason.REVOKED, T0 + dt.timedelta(days=40), "u-legal-1",
               "经行政复议决定撤销（宁政复决字〔2026〕8号）")
    assert p.state is PublicationState.WITHDRAWN and p.current is None
    assert [(h.action, h.revision, h.actor) for h in p.history] == [
        (Action.PUBLISH, 1, "u-officer-1"), (Action.CORRECT, 2, "u-officer-2"), (Action.WITHDRAW, 2, "u-legal-1")]
    assert p.history[1].changed_fields == ("conclusion",)
    assert p.history[2].reason_zh == "原执法决定依法撤销：经行政复议决定撤销（宁政复决字〔2026〕8号）"


def test_disc5_public_history_shows_what_when_why_without_personal_data():
    p = published()
    p.correct(entry(conclusion="罚款30000元"), T0 + dt.timedelta(days=2), "u2",
              "当事人张三丰（手机13812345678）的罚款金额录入错误")
    view = p.public_view(parties=(ZHANG,))
    assert view.notice_zh == "该公示信息已更正1次，以下为更正后的内容。"
    assert [(h.action_zh, h.reason_zh, h.changed_fields_zh) for h in view.history] == [
        ("公开", "依法公开执法决定信息", ()),
        ("更正", "当事人张某（手机138****5678）的罚款金额录入错误", ("执法结论",)),
    ]
    shown = repr(view)
    for secret in ("张三丰", "13812345678", "u2", "罚款50000元"):
        assert secret not in shown  # old revision, actor ids and personal data are not public


def test_disc6_withdrawn_view_and_remade_link():
    old = published("P1", "C1")
    old.withdraw(WithdrawalReason.REMADE, T0 + dt.timedelta(days=30), "u-legal", "经行政诉讼判决责令重新作出")
    new = published("P2", "C2", "宁市监罚〔2026〕201号")
    link_remade(old, new, T0 + dt.timedelta(days=31), "u-officer")
    assert old.replaced_by == "P2" and new.replaces == "P1"
    view = old.public_view()
    assert view.entry is None
    assert view.notice_zh == "该行政执法决定已于2026-04-11因被要求重新作出撤下原公示信息。重新作出的决定已另行公示。"
    assert view.history[-1].reason_zh == "重新作出的决定（宁市监罚〔2026〕201号）已公示"
    assert new.history[-1].action is Action.LINK_REPLACES
    assert new.public_view().replaces == "P1"


@pytest.mark.parametrize("reason, label", [
    (WithdrawalReason.REVOKED, "依法撤销"), (WithdrawalReason.CONFIRMED_ILLEGAL, "被确认违法"),
    (WithdrawalReason.REMADE, "被要求重新作出")])
def test_disc6_withdrawal_reasons(reason, label):
    p = published()
    p.withdraw(reason, T0 + dt.timedelta(days=1), "u", "判决")
    assert p.public_view().notice_zh == f"该行政执法决定已于2026-03-13因{label}撤下原公示信息。"


def test_disc6_invalid_transitions_raise():
    pending = Publication("P9", "C1", "宁市监罚〔2026〕123号")
    with pytest.raises(InvalidTransition):
        pending.correct(entry(), T0, "u", "原因")
    with pytest.raises(InvalidTransition):
        pending.withdraw(WithdrawalReason.REVOKED, T0, "u", "撤销")
    p = published()
    with pytest.raises(InvalidTransition):
        p.publish(entry(), T0, "u")  # already published
    with pytest.raises(InvalidTransition):
        p.correct(entry(), T0 + dt.timedelta(hours=1), "u", "无变化")  # nothing changed
    with pytest.raises(InvalidTransition):
        p.correct(entry(conclusion="警告"), T0 + dt.timedelta(hours=1), "u", "  ")  # reason required
    with pytest.raises(InvalidTransition):
        p.correct(entry(conclusion="警告"), T0 - dt.timedelta(hours=1), "u", "时间倒流")
    with pytest.raises(InvalidTransition):
        p.correct(entry(case_id="C-OTHER", conclusion="警告"), T0 + dt.timedelta(hours=1), "u", "错案")
    p.withdraw(WithdrawalReason.REVOKED, T0 + dt.timedelta(days=1), "u", "撤销")
    with pytest.raises(InvalidTransition):
        p.correct(entry(conclusion="警告"), T0 + dt.timedelta(days=2), "u", "撤下后更正")
    with pytest.raises(InvalidTransition):
        p.withdraw(WithdrawalReason.REVOKED, T0 + dt.timedelta(days=2), "u", "再次撤下")
    other = published("P3", "C3")
    with pytest.raises(InvalidTransition):  # only a 'remade' withdrawal can be linked
        link_remade(p, other, T0 + dt.timedelta(days=3), "u")
    assert len(p.history) == 2  # failed transitions left no trace


def test_disc4_publish_refuses_an_entry_with_personal_data():
    leaky = dataclasses.replace(entry(), facts="当事人张三丰无照经营。")
    p = Publication("P1", "C1", "宁市监罚〔2026〕123号")
    with pytest.raises(PersonalDataLeak):
        p.publish(leaky, T0, "u", parties=(ZHANG,))
    assert p.state is PublicationState.PENDING and p.history == []
