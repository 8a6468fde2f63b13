"""The plan records, per input property, the resources its value came from (`propertyDependencies`, as in
`pulumi stack export`), so that tools reading a plan can follow references."""

from __future__ import annotations

import dataclasses
import json

from typer.testing import CliRunner

from rayplat.cli import app
from rayplat.diff.engine import diff_plans
from rayplat.plan import Plan
from tests.conftest import planned, resource


def test_an_eks_node_group_depends_on_its_cluster_by_property(plan):
    cluster = resource(plan, "aws:eks/cluster:Cluster")
    role = resource(plan, "aws:iam/role:Role", f"{plan.stack}-node")
    groups = plan.of_type("aws:eks/nodeGroup:NodeGroup")
    assert groups
    for group in groups:
        assert group.propertyDependencies["clusterName"] == [cluster.urn]
        assert group.propertyDependencies["nodeRoleArn"] == [role.urn]
        assert "instanceTypes" not in group.propertyDependencies  # a literal: no dependency recorded


def test_a_gke_node_pool_depends_on_its_cluster_by_property(gcp_plan):
    cluster = resource(gcp_plan, "gcp:container/cluster:Cluster")
    pools = gcp_plan.of_type("gcp:container/nodePool:NodePool")
    assert pools
    assert all(pool.propertyDependencies["cluster"] == [cluster.urn] for pool in pools)


def test_property_dependencies_name_resources_of_the_plan_in_order(any_plan):
    urns = set(any_plan.by_urn())
    recorded = [urns_ for r in any_plan.resources for urns_ in r.propertyDependencies.values()]
    assert recorded
    assert all(urns_ == sorted(urns_) and set(urns_) <= urns for urns_ in recorded)
    assert all(list(r.propertyDependencies) == sorted(r.propertyDependencies) for r in any_plan.resources)


def test_the_plan_json_carries_them(tmp_path):
    out = tmp_path / "plan.json"
    assert CliRunner().invoke(app, ["plan", "--stack", "dev", "--quiet", "--json", str(out)]).exit_code == 0
    groups = [r for r in json.loads(out.read_text())["resources"] if r["type"] == "aws:eks/nodeGroup:NodeGroup"]
    assert groups and all(g["propertyDependencies"]["clusterName"] for g in groups)
    assert Plan.read(out).by_urn()[groups[0]["urn"]].propertyDependencies == groups[0]["propertyDependencies"]


def test_a_plan_without_them_reads_and_diffs_as_unchanged(tmp_path):
    """A base plan written before the field existed is read, and the field is no change to review."""
    head = planned("dev")
    document = head.to_dict()
    for r in document["resources"]:
        del r["propertyDependencies"]
    (tmp_path / "old.json").write_text(json.dumps(document))
    base = Plan.read(tmp_path / "old.json")
    assert all(r.propertyDependencies == {} for r in base.resources)
    assert diff_plans(base, head).empty
    assert [dataclasses.replace(r, propertyDependencies={}) for r in head.resources] == base.resources
