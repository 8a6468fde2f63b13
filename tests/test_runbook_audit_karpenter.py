"""`rayplat runbook audit` on a Karpenter stack (staging), against moto: the instances Karpenter launches for
the stack's NodePools are the stack's (cost tags checked, never orphans); others are orphans."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from catalog.karpenter import NODECLASS_TYPE, NODEPOOL_TAG
from rayplat.runbooks.audit import NODE_GROUP_TYPE, StackExpectation, run_audit
from rayplat.runbooks.progress import Progress
from tests.conftest import planned
from tests.test_runbook_audit import CREDENTIALS, _cluster, _hardened_bucket, _instance, _node_group

STACK = "staging"


def _karpenter_tags(cluster: str, nodepool: str, **changes: str | None) -> dict[str, str]:
    """What Karpenter puts on an instance of ``nodepool``: its EC2NodeClass's tags and its own."""
    node_class = next(r for r in planned(STACK).of_type(NODECLASS_TYPE) if r.inputs["metadata"]["name"] == nodepool)
    tags = {
        **node_class.inputs["spec"]["tags"],
        f"kubernetes.io/cluster/{cluster}": "owned",
        "eks:eks-cluster-name": cluster,
        NODEPOOL_TAG: nodepool,
        "karpenter.sh/nodeclaim": f"{nodepool}-x7k2p",
        "karpenter.k8s.aws/ec2nodeclass": nodepool,
        **changes,
    }
    return {k: v for k, v in tags.items() if v is not None}


@pytest.fixture
def account(monkeypatch) -> Iterator[tuple[boto3.session.Session, dict]]:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    plan = planned(STACK)
    with mock_aws():
        session = boto3.session.Session(region_name=plan.outputs["region"])
        outputs = {**plan.outputs, "artifactKmsKeyArn": session.client("kms").create_key()["KeyMetadata"]["Arn"]}
        _hardened_bucket(
            session.client("s3"), outputs["artifactBucket"], outputs["region"], outputs["artifactKmsKeyArn"]
        )
        eks = session.client("eks")
        _cluster(eks, outputs["clusterName"])
        (system,) = plan.of_type(NODE_GROUP_TYPE)
        _node_group(eks, outputs["clusterName"], system.inputs)
        yield session, outputs


def _audit(session, outputs):
    # moto has no EKS access entries; tests/test_runbook_audit.py serves them to that check.
    expected = StackExpectation.from_stack(planned(STACK), outputs)
    return run_audit(expected, Progress(), session, skip=frozenset({"access entries"}))


def _launch(session, outputs, **changes):
    return _instance(session.client("ec2"), "g5.2xlarge", _karpenter_tags(outputs["clusterName"], "a10g", **changes))


def test_the_stack_expects_its_nodepools_and_their_cost_tags(account):
    session, outputs = account
    expected = StackExpectation.from_stack(planned(STACK), outputs)
    assert set(expected.nodepools) == {"a10g"}
    assert [p.pool for p in expected.pools] == ["system"]


def test_instances_of_the_stacks_nodepools_are_not_orphans(account):
    session, outputs = account
    _launch(session, outputs)
    result = _audit(session, outputs)
    assert result.error is None and result.findings == []


def test_a_karpenter_instance_without_a_cost_tag_is_found(account):
    session, outputs = account
    instance = _launch(session, outputs, team=None)
    findings = {f.check: f for f in _audit(session, outputs).findings}
    # The instance and its root volume (tagged alike by the EC2NodeClass).
    assert set(findings) == {"instance-cost-tags", "volume-cost-tags"}
    assert findings["instance-cost-tags"].resource == instance
    assert "pool a10g" in findings["instance-cost-tags"].message and "team" in findings["instance-cost-tags"].message


def test_an_instance_of_a_nodepool_the_stack_no_longer_has_is_an_orphan(account):
    session, outputs = account
    instance = _launch(session, outputs, **{NODEPOOL_TAG: "h100"})
    (finding,) = _audit(session, outputs).findings
    assert (finding.check, finding.resource) == ("orphan-gpu-instance", instance)
    assert f"{NODEPOOL_TAG}=h100" in finding.message


def test_another_live_clusters_karpenter_instance_is_not_this_stacks_orphan(account):
    session, outputs = account
    _cluster(session.client("eks"), "ray-prod")
    _launch(
        session,
        outputs,
        **{"eks:eks-cluster-name": "ray-prod", f"kubernetes.io/cluster/{outputs['clusterName']}": None},
    )
    _launch(session, outputs, **{"eks:eks-cluster-name": "ray-gone"})
    findings = _audit(session, outputs).findings
    assert [f.check for f in findings] == ["orphan-gpu-instance"]
    assert "eks:eks-cluster-name=ray-gone" in findings[0].message
