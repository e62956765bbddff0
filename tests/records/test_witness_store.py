"""The province's witness of a city's records log, on its database (REC-4 across tiers, issue 23 (1),
(2)): pinned keys only (no trust on first sight), a key hand-over only when the pinned key signed it,
the fork alarm and its resolution — on SQLite and PostgreSQL."""
from __future__ import annotations

import contextlib
import json

import pytest
from nameko import config
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.db import OutboxMessage
from services.common.events import InvalidEvent, parse_event
from services.records import witness
from services.records.domain.merkle import MerkleLog, leaf_hash
from services.records.domain.treehead import TreeHead, generate_key, public_key_bytes, sign_tree_head
from services.records.domain.witnessing import handover_bytes
from services.records.models import WitnessedHead
from tests.integration import events as ev

LOG = "records.320400"


@pytest.fixture
def session_factory(service_engine):
    engine = service_engine("records")

    @contextlib.contextmanager
    def session():
        with Session(engine, expire_on_commit=False, info={"service": "records"}) as s:
            with s.begin():
                yield s

    return session


class City:
    """A city's log as its records service signs it: heads with the proof from the previous head."""

    def __init__(self, key=None):
        self.key = key or generate_key()
        self.tree = MerkleLog()
        self.previous = None

    def append(self, n, tag="a"):
        for i in range(n):
            self.tree.append(leaf_hash(f"{tag}-{self.tree.size}-{i}".encode()))

    def head(self, timestamp, key=None):
        size = self.tree.size
        sth = sign_tree_head(TreeHead(size, self.tree.root(size), timestamp, LOG), key or self.key)
        consistency = None
        if self.previous is not None:
            consistency = {"from_size": self.previous, "from_root": self.tree.root(self.previous).hex(),
                           "proof": [p.hex() for p in self.tree.consistency_proof(self.previous, size)]}
        self.previous = size
        return parse_event(ev.envelope("record.tree_head_signed", {**sth.to_json(), "reason": "timer",
                                                                   "consistency": consistency},
                                       body={"region_code": "320400", "body_id": "zhifa-records-log",
                                             "system": "zhifa.records"}))


def pinned(city):
    return config.patch({"ZHIFA_RECORDS_WITNESS_KEYS": {LOG: public_key_bytes(city.key).hex()}}, clear=False)


def states(session_factory):
    with session_factory() as s:
        return [(r.tree_size, r.status) for r in s.scalars(select(WitnessedHead).order_by(WitnessedHead.id))]


def test_no_pinned_key_no_witness_and_a_forged_key_is_never_trusted(session_factory):
    city = City()
    city.append(3)
    with config.patch({"ZHIFA_RECORDS_WITNESS_KEYS": {}}, clear=False), session_factory() as s, \
            pytest.raises(InvalidEvent, match="no public key pinned"):
        witness.witness(s, city.head(1000))
    forger = City(generate_key())
    forger.append(3)
    with pinned(city):
        with session_factory() as s:
            witness.witness(s, forger.head(1000))                 # the first head seen, but not the pinned key
        with session_factory() as s:
            witness.witness(s, city.head(1001))
        with session_factory() as s:
            view = witness.log_view(s.get(witness.WitnessLog, LOG), None)
            assert view["pinned_key"] == public_key_bytes(city.key).hex()
    assert states(session_factory) == [(3, "pending"), (3, "accepted")]


def test_a_key_is_handed_over_only_with_the_pinned_keys_signature(session_factory):
    city, new = City(), generate_key()
    city.append(2)
    with pinned(city):
        with session_factory() as s:
            witness.witness(s, city.head(1000))
        city.append(2)
        early = city.head(2000, key=new)                         # signed with the new key before the hand-over
        with session_factory() as s:
            witness.witness(s, early)
        assert states(session_factory)[-1] == (4, "pending")

        def hand_over(signer):
            statement = handover_bytes(LOG, "ed25519", public_key_bytes(new), 4, 1500)
            return parse_event(ev.envelope("record.key_rotated", {
                "log_id": LOG, "algorithm": "ed25519", "old_public_key": public_key_bytes(city.key).hex(),
                "new_public_key": public_key_bytes(new).hex(), "from_tree_size": 4, "timestamp": 1500,
                "signature": signer.sign(statement).hex()},
                body={"region_code": "320400", "body_id": "zhifa-records-log", "system": "zhifa.records"}))

        with session_factory() as s, pytest.raises(InvalidEvent, match="not signed by the pinned key"):
            witness.hand_over(s, hand_over(generate_key()))
        with session_factory() as s:
            witness.hand_over(s, hand_over(city.key))
        assert states(session_factory)[-1] == (4, "accepted")     # the waiting head judged now
        with session_factory() as s:
            state = s.get(witness.WitnessLog, LOG)
            assert state.public_key == public_key_bytes(new).hex() and state.key_history[-1]["retired"]


def test_a_rollback_is_a_fork_further_heads_are_refused_until_resolved(session_factory):
    city = City()
    with pinned(city):
        for t in (1, 2, 3):
            city.append(5)
            with session_factory() as s:
                witness.witness(s, city.head(t * 1000))
        # restored from the backup taken at size 10 (its newest head): other entries after it
        restored = City(city.key)
        restored.tree = MerkleLog.from_leaf_hashes(city.tree.leaf_hashes()[:10 * 32])
        restored.previous = 10
        restored.append(8, tag="b")
        with session_factory() as s:
            row = witness.witness(s, restored.head(4000))
        assert row.status == "forked" and "回滚" in row.reason
        with session_factory() as s:
            sent = [json.loads(m.envelope) for m in s.scalars(select(OutboxMessage))]
            assert [e["payload"]["head_size"] for e in sent if e["event_type"] == "record.fork_detected"] == [18]
            assert s.get(witness.WitnessLog, LOG).status == "forked"
        restored.append(1, tag="c")
        with session_factory() as s:
            assert witness.witness(s, restored.head(5000)).status == "refused"
        with session_factory() as s:
            resolution = witness.resolve_fork(s, LOG, "ops-zhang", "从备份恢复，缺失记录已重报")
        assert resolution["kind"] == "fork" and resolution["resolved_by"] == "ops-zhang"
        restored.append(1, tag="d")
        with session_factory() as s:
            assert witness.witness(s, restored.head(6000)).status == "accepted"     # the new anchor
            assert s.get(witness.WitnessLog, LOG).status == "ok"
