"""The witness's chain rules (REC-4 across tiers, PLAT-1, issue 23): a city's heads are accepted only
as append-only extensions of the newest witnessed head; a rollback or rewrite is a fork, whatever
order the heads arrive in (SEC-6)."""
import itertools

from services.records.domain import witnessing as w
from services.records.domain.merkle import MerkleLog, leaf_hash


def log_of(prefix: str, n: int) -> MerkleLog:
    tree = MerkleLog()
    for i in range(n):
        tree.append(leaf_hash(f"{prefix}-{i}".encode()))
    return tree


def head(tree: MerkleLog, size: int, prev: int | None) -> w.Head:
    if prev is None:
        return w.Head(size, tree.root(size).hex(), timestamp=size)
    return w.Head(size, tree.root(size).hex(), prev, tree.root(prev).hex(),
                  tuple(p.hex() for p in tree.consistency_proof(prev, size)), timestamp=size)


def run(heads):
    """Feed heads in order through the rules as witness.py does (pending heads judged again)."""
    tip, accepted, pending, forks = None, [], [], []
    for h in heads:
        queue = [h]
        while queue:
            item = queue.pop(0)
            verdict = w.judge(item, tip, accepted)
            if verdict.kind in (w.ACCEPT, w.DUPLICATE, w.HISTORY):
                if item not in accepted:
                    accepted.append(item)
                if verdict.kind == w.ACCEPT:
                    tip = item
                queue, pending = queue + pending, []
            elif verdict.kind == w.PENDING:
                pending.append(item)
            else:
                forks.append((item, verdict.reason))
                return tip, accepted, pending, forks
    return tip, accepted, pending, forks


def test_an_append_only_chain_is_witnessed_in_every_arrival_order():
    tree = log_of("a", 40)
    chain = [head(tree, 10, None), head(tree, 20, 10), head(tree, 25, 20), head(tree, 40, 25)]
    for order in itertools.permutations(chain):
        tip, accepted, pending, forks = run(order)
        assert not forks, order
        assert tip.tree_size == 40 and not pending and len(accepted) == 4, order


def test_a_rollback_to_a_recent_backup_is_a_fork_at_the_next_head_in_every_order():
    """Backup taken after head 20 was witnessed; the city goes on to 30 (witnessed), is restored to
    the backup (20) and signs 35 over different entries: the next head extends 20, not 30."""
    before = log_of("a", 30)
    after = log_of("a", 20)
    for i in range(15):
        after.append(leaf_hash(f"b-{i}".encode()))
    witnessed = [head(before, 10, None), head(before, 20, 10), head(before, 30, 20)]
    rolled_back = head(after, 35, 20)
    tip, _, _, forks = run(witnessed + [rolled_back])
    assert tip.tree_size == 30 and len(forks) == 1 and "回滚" in forks[0][1]
    # the same log rewritten while claiming the newest witnessed head as its start: the proof fails
    forged = w.Head(35, after.root(35).hex(), 30, before.root(30).hex(),
                    tuple(p.hex() for p in after.consistency_proof(30, 35)))
    assert run(witnessed + [forged])[3][0][1].startswith("自已见证的 30 条树头")
    # and whatever order the earlier heads arrive in, the rollback never passes
    for order in itertools.permutations(witnessed):
        assert run(list(order) + [rolled_back])[3], order


def test_another_root_at_a_witnessed_size_or_from_a_contradicting_root_is_a_fork():
    tree, other = log_of("a", 20), log_of("x", 20)
    base = [head(tree, 10, None), head(tree, 20, 10)]
    assert "根哈希不同" in run(base + [w.Head(20, other.root(20).hex())])[3][0][1]
    contradicting = w.Head(25, other.root(20).hex(), 10, other.root(10).hex(), ())
    assert "根哈希与已见证的不同" in run(base + [contradicting])[3][0][1]


def test_a_head_whose_predecessor_never_came_waits_and_one_without_proof_is_not_accepted():
    tree = log_of("a", 50)
    tip, accepted, pending, forks = run([head(tree, 10, None), head(tree, 40, 30)])
    assert tip.tree_size == 10 and [p.tree_size for p in pending] == [40] and not forks
    assert w.judge(w.Head(50, tree.root(50).hex()), head(tree, 10, None), [head(tree, 10, None)]).kind == w.PENDING
    anchor = w.Head(10, tree.root(10).hex(), timestamp=1000)
    late = w.judge(w.Head(5, tree.root(5).hex(), timestamp=900), anchor, [anchor])
    assert late.kind == w.PENDING            # an older head arriving late waits for its chain
    shrunk = w.judge(w.Head(5, tree.root(5).hex(), timestamp=2000), anchor, [anchor])
    assert shrunk.kind == w.FORK and "回滚" in shrunk.reason   # signed after, with fewer entries


def test_the_hand_over_statement_binds_log_key_size_and_time():
    a = w.handover_bytes("records.320400", "ed25519", bytes(32), 7, 1000)
    assert a != w.handover_bytes("records.320200", "ed25519", bytes(32), 7, 1000)
    assert a != w.handover_bytes("records.320400", "ed25519", bytes(32), 8, 1000)
    assert a.startswith(w.HANDOVER_DOMAIN)
