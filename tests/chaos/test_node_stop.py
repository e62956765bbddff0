"""Chaos, short (issue 20, PLAT-1): a broker node stopped mid-stream loses and duplicates nothing.

The city suite (records, review, disclosure, evaluation, complaints as processes, PostgreSQL with a
standby) on the three-node RabbitMQ cluster with quorum queues; a departmental publisher with
publisher confirms sends a seeded case mix (tests/integration/events.Mix); a third of the way in, the
node leading most of the busiest handler queues is stopped (its connections close, the
queues elect leaders on the other two, services and publisher reconnect to another node of the URI), and started again 8 s later. After the
barrier (every queue drained, no outbox row pending, every expected effect present) each confirmed
event was applied exactly once by every consumer bound to its type, nothing was dead-lettered, and
the records log verifies. `make chaos` / bench/chaos_node_stop.py run more and longer rounds."""
import pytest

from tests.chaos.harness import table
from tests.chaos.node_stop import BrokerNodeStop, cluster_chaos_suite

pytestmark = pytest.mark.integration
SEED = 20201


def test_stopping_the_node_leading_the_busiest_queues_loses_and_duplicates_nothing(rabbit_cluster):
    fault = BrokerNodeStop(rabbit_cluster, duration=8.0)
    with cluster_chaos_suite(rabbit_cluster) as suite:
        result = suite.round(fault, SEED, events=240, rate=30.0, barrier_timeout=150.0)
        types = {q["type"] for q in rabbit_cluster.queues(suite.city.vhost) if q["name"].startswith("evt-")}
        fault.wait_started()
    report = table([result]) + "\n" + "\n".join(result.notes + result.problems)
    assert types == {"quorum"}, report
    assert fault.node is not None and fault.leaders_before[fault.node] >= 1, report
    assert result.attempted == 240 and result.confirmed == 240, report
    assert (result.lost, result.duplicated, result.dead_lettered) == (0, 0, 0), report
    assert result.applied_once == result.confirmed and result.verify == "ok", report
    assert result.ok, report
    assert rabbit_cluster.running() == [1, 2, 3]
