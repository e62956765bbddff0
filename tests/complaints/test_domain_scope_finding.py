"""监督认定 (CMP-5): a supervisor's finding on a not-accepted complaint is a domain decision of the life
cycle (issue 21: the use case no longer writes the history by hand)."""
from __future__ import annotations

import pytest

from services.complaints.domain import EventKind, Status, TransitionError
from tests.complaints.test_domain_builders import at, record


def test_cmp5_a_finding_on_a_not_accepted_complaint_is_kept_as_an_internal_entry():
    refused = record().not_accept("已提起行政诉讼", at=at(2026, 10, 9), actor="handler-li")
    found = refused.record_scope_finding(True, at=at(2026, 10, 20), actor="supervisor-wang", note="经核实未提起诉讼")
    last = found.history[-1]
    assert found.status is Status.NOT_ACCEPTED
    assert (last.seq, last.kind, last.status, last.actor) == (3, EventKind.PROGRESS, Status.NOT_ACCEPTED,
                                                               "supervisor-wang")
    assert last.public_text is None       # the complainant's status query shows nothing of it
    assert last.internal_note == "监督认定：属于受理范围。经核实未提起诉讼"
    assert last.data == {"scope_finding": True}
    assert len(refused.history) == 2      # the record is a value: the finding makes a new one


def test_cmp5_only_a_not_accepted_complaint_can_be_found_in_scope():
    with pytest.raises(TransitionError, match="只能对不予受理的投诉举报作出认定"):
        record().record_scope_finding(False, at=at(2026, 10, 9), actor="supervisor-wang")
