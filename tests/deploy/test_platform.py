"""deploy/k8s/platform: the operator-managed PostgreSQL (CloudNativePG) and RabbitMQ (cluster
operator) under each tier suite, and the suite overlays pointing at them (issue 20, PLAT-1).

Rendered with `kubectl kustomize` when it is on PATH (skipped otherwise: the platform tiers use
JSON patches the overlay emulation of test_kustomize does not model)."""
from __future__ import annotations

import pytest

from tests.deploy.support import DB_SERVICES, K8S, load_yaml
from tests.deploy.test_kustomize import OVERLAYS, kustomize_build

PLATFORM = K8S / "platform"


def rendered(tier: str) -> list[dict]:
    docs = kustomize_build(PLATFORM / tier)
    if docs is None:
        pytest.skip("neither kubectl nor kustomize on PATH")
    return docs


def settings_of(overlay: str) -> dict:
    (generator,) = [g for g in load_yaml(K8S / "overlays" / overlay / "kustomization.yaml")["configMapGenerator"]
                    if g["name"] == "zhifa-settings"]
    return dict(item.split("=", 1) for item in generator["literals"])


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_issue20_every_tier_has_a_replicated_database_and_a_three_node_broker(overlay):
    _, region = OVERLAYS[overlay]
    docs = rendered(overlay)
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    cluster = kinds[("Cluster", "zhifa-pg")]
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["metadata"]["namespace"] == f"zhifa-db-{region}"
    spec = cluster["spec"]
    # a replica to promote, synchronous so an acknowledged event survives the primary's loss
    assert spec["instances"] >= 3 and spec["minSyncReplicas"] >= 1
    assert spec["affinity"]["podAntiAffinityType"] == "required"
    owners = {spec["bootstrap"]["initdb"]["database"]: spec["bootstrap"]["initdb"]["owner"]}
    owners.update({d["spec"]["name"]: d["spec"]["owner"] for d in docs if d["kind"] == "Database"})
    assert owners == {f"zhifa_{s}": f"zhifa_{s}" for s in DB_SERVICES}       # one database and role each
    roles = {r["name"] for r in spec["managed"]["roles"]} | {spec["bootstrap"]["initdb"]["owner"]}
    assert roles == {f"zhifa_{s}" for s in DB_SERVICES}
    assert all(d["metadata"]["namespace"] == f"zhifa-db-{region}" for d in docs if d["kind"] == "Database")
    broker = kinds[("RabbitmqCluster", "rabbitmq")]
    assert broker["apiVersion"] == "rabbitmq.com/v1beta1" and broker["spec"]["replicas"] == 3
    assert broker["metadata"]["namespace"] == f"zhifa-broker-{region}"
    assert {"rabbitmq_prometheus", "rabbitmq_shovel", "rabbitmq_federation"} <= set(
        broker["spec"]["rabbitmq"]["additionalPlugins"])
    assert "prometheus.return_per_object_metrics = true" in broker["spec"]["rabbitmq"]["additionalConfig"]
    # the operator keeps the database pods' PodDisruptionBudgets: a second one would make them
    # unevictable (node drains stall)
    assert not [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    namespaces = {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"}
    assert namespaces == {f"zhifa-db-{region}", f"zhifa-broker-{region}"}


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_issue20_suite_overlay_connects_to_the_operator_services(overlay):
    """The suite writes to CloudNativePG's read-write Service (it follows the primary at a failover)
    and talks to the RabbitmqCluster's client Service."""
    _, region = OVERLAYS[overlay]
    settings = settings_of(overlay)
    assert settings["ZHIFA_DB_HOST"] == f"zhifa-pg-rw.zhifa-db-{region}.svc"
    assert settings["ZHIFA_AMQP_HOST"] == f"rabbitmq.zhifa-broker-{region}.svc"
