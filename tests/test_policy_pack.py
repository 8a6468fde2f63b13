"""The pack as a whole: metadata, the shipped stacks, enforcement, exemptions, remediation, reports, CLI."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy
from typer.testing import CliRunner

from policies import ALL_POLICIES
from policies.rules import AREAS
from rayplat import PROJECT_ROOT
from rayplat.check.engine import PolicyConfigError, check_plan, resolve_config
from rayplat.cli import app
from rayplat.plan import plan_stack
from tests.conftest import STACKS, planned
from tests.policy_support import baseline, changed, check, outcome

DATA = Path(__file__).parent / "data"
runner = CliRunner()
NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def test_pack_has_the_rules_it_promises():
    names = [p.name for p in ALL_POLICIES]
    assert len(names) >= 35 and len(set(names)) == len(names)


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=lambda p: p.name)
def test_policy_metadata(policy):
    assert NAME.match(policy.name)
    assert policy.description.endswith(".") and policy.description[0].isupper()
    assert ". " not in policy.description.rstrip("."), "one sentence"
    assert policy.severity is not None
    assert policy.remediation_steps and len(policy.remediation_steps) > 20
    assert policy.tags and policy.tags[0] in AREAS
    assert isinstance(policy, ResourceValidationPolicy | StackValidationPolicy)
    assert "exemptions" in policy.config_schema.properties


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_have_no_mandatory_violation(stack):
    plan = planned(stack)
    report = check(plan)
    assert report.mandatory_failures == []
    # What every stack has is judged, whatever the cloud: the check does not pass for want of rules.
    passed = {f.policy for f in report.of_status("passed")}
    assert {
        "helm-release-pinned",
        "kuberay-operator-pinned",
        "namespace-cost-labels",
        "namespace-pod-security",
    } <= passed
    cloud_rules = {"aws": "eks-secrets-encryption", "gcp": "gke-private-nodes", "existing": "helm-release-pinned"}
    assert cloud_rules[plan.outputs["cloud"]] in passed


def test_prod_makes_security_and_tagging_mandatory():
    settings = resolve_config(ALL_POLICIES, json.loads((PROJECT_ROOT / "policies/config/prod.json").read_text()))
    for policy in ALL_POLICIES:
        if policy.tags[0] in ("s3", "eks", "nodes", "iam", "network", "tagging", "gcp"):
            assert settings[policy.name].level.value in ("mandatory", "remediate"), policy.name


def test_a_policys_own_level_beats_all_and_unknown_names_are_refused():
    settings = resolve_config(ALL_POLICIES, {"all": "disabled", "s3-versioning": "mandatory"})
    assert settings["s3-versioning"].level.value == "mandatory"
    assert settings["s3-sse-kms"].level.value == "disabled"
    with pytest.raises(PolicyConfigError, match="unknown policies in the policy config: s3-versionning"):
        resolve_config(ALL_POLICIES, {"s3-versionning": "mandatory"})
    with pytest.raises(PolicyConfigError, match="s3-versioning: enforcement level 'blocking' is not one of"):
        resolve_config(ALL_POLICIES, {"s3-versioning": "blocking"})
    with pytest.raises(PolicyConfigError, match="gpu-stack-budget.maxGpusPerStack: 'many' is not of type 'integer'"):
        resolve_config(ALL_POLICIES, {"gpu-stack-budget": {"maxGpusPerStack": "many"}})


def test_disabled_policies_are_skipped_not_run():
    report = check(planned("dev"), {"all": "disabled"})
    assert report.of_status("passed") == [] and report.of_status("failed") == []
    assert {f.message for f in report.findings} == {"disabled in the policy config"}


def test_exemptions_are_reported_with_their_reason():
    plan = changed(
        baseline(), "kubernetes:core/v1:Service", "ray-head", lambda r: r.inputs["spec"].update(type="LoadBalancer")
    )
    reason = "internal NLB behind the VPN; reviewed in SEC-7"
    exempt = {"ray-no-public-load-balancer": {"exemptions": [{"resource": "ray-*", "reason": reason}]}}
    finding = outcome(check(plan, exempt), "ray-no-public-load-balancer", "kubernetes:core/v1:Service", "ray-head")
    assert (finding.status, finding.message) == ("skipped", f"exempt: {reason}")


def test_stack_rule_exemptions_are_reported_too():
    plan = changed(
        baseline(),
        "aws:s3/bucketVersioning:BucketVersioning",
        "dev-artifacts",
        lambda r: r.inputs["versioningConfiguration"].update(status="Suspended"),
    )
    config = {"s3-versioning": {"exemptions": [{"resource": "dev-artifacts", "reason": "scratch data, ADR-12"}]}}
    finding = outcome(check(plan, config), "s3-versioning", "aws:s3/bucket:Bucket", "dev-artifacts")
    assert (finding.status, finding.message) == ("skipped", "exempt: scratch data, ADR-12")


def test_remediation_adds_missing_tags_before_analysis():
    plan = changed(
        planned("prod"),
        "aws:s3/bucket:Bucket",
        "prod-artifacts",
        lambda r: r.inputs["tags"].update(department="", team=""),
    )
    report = check(plan)
    fixed = [r for r in report.remediations if r.resource_name == "prod-artifacts"]
    assert [r.policy for r in fixed] == ["aws-required-tags"]
    finding = outcome(report, "aws-required-tags", "aws:s3/bucket:Bucket", "prod-artifacts")
    # department has a default value in prod's policy config and is fixed; team has none and still fails,
    # reported as mandatory (the engine's downgrade of remediate).
    assert (finding.status, finding.level) == ("failed", "mandatory")
    assert "missing cost tags team " in finding.message


def test_unknown_values_skip_the_policy_as_in_a_preview():
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    plan = changed(planned("dev"), "aws:eks/cluster:Cluster", "dev", lambda r: r.inputs.update(version=unknown))
    finding = outcome(check(plan), "eks-supported-version", "aws:eks/cluster:Cluster", "dev")
    assert finding.status == "skipped" and "during preview" in finding.message


MONITORING_EXEMPTION = "node-exporter reads the host's network, PIDs and filesystems; reviewed by platform security"
EXPECTED_OVERBUDGET = {
    ("eks-supported-version", "overbudget", "Kubernetes 1.32 is not one of 1.33, 1.34"),
    ("gpu-instance-types-allowed", "overbudget-h100", "p5.48xlarge is not an allowed GPU instance type"),
    (
        "gpu-pool-bounds",
        "overbudget-h100",
        "up to 20 nodes exceeds the 16 nodes allowed per GPU pool; up to 160 GPUs exceeds the 64 allowed per GPU pool",
    ),
    (
        "gpu-stack-budget",
        "overbudget-h100",
        "the stack's GPU pools reach 164 GPUs, over the 64 allowed (largest pool: overbudget-h100)",
    ),
}


def test_a_bad_stack_yields_exactly_the_expected_violations():
    plan = plan_stack("overbudget", DATA / "stacks")
    report = check_plan(plan, json.loads((DATA / "policy/overbudget.json").read_text()))
    assert {(f.policy, f.resource_name, f.message) for f in report.of_status("failed")} == EXPECTED_OVERBUDGET
    assert all(f.level == "mandatory" for f in report.of_status("failed"))
    skipped = sorted((f.policy, f.resource_name, f.message) for f in report.of_status("skipped"))
    assert skipped == [
        ("namespace-pod-security", "overbudget-platform-monitoring", "exempt: " + MONITORING_EXEMPTION),
        (
            "namespace-pod-security",
            "overbudget-platform-ray",
            "exempt: research runs privileged profilers; ticket SEC-142",
        ),
    ]


def _check_bad(fmt: str, tmp_path: Path):
    out = tmp_path / f"report.{fmt}"
    result = runner.invoke(
        app,
        [
            "check",
            "--stack",
            "overbudget",
            "--stacks-dir",
            str(DATA / "stacks"),
            "--policy-config",
            str(DATA / "policy/overbudget.json"),
            "--format",
            fmt,
            "--output",
            str(out),
        ],
    )
    return result, out


def test_check_exits_1_on_mandatory_violations_and_writes_json(tmp_path):
    result, out = _check_bad("json", tmp_path)
    assert result.exit_code == 1, result.output
    document = json.loads(out.read_text())
    assert document["summary"]["mandatoryFailures"] == 4
    failed = {(r["policy"], r["resource"]["name"]) for r in document["results"] if r["status"] == "failed"}
    assert failed == {(p, n) for p, n, _ in EXPECTED_OVERBUDGET}
    assert {p["name"] for p in document["policies"]} == {p.name for p in ALL_POLICIES}


def test_sarif_report_for_code_scanning(tmp_path):
    result, out = _check_bad("sarif", tmp_path)
    assert result.exit_code == 1
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [p.name for p in ALL_POLICIES]
    errors = [r for r in run["results"] if "suppressions" not in r]
    assert {r["ruleId"] for r in errors} == {p for p, _, _ in EXPECTED_OVERBUDGET}
    for r in run["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        location = r["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "stacks/Pulumi.overbudget.yaml"
        assert location["logicalLocations"][0]["fullyQualifiedName"].startswith("urn:pulumi:overbudget::")
    suppressed = sorted(r["suppressions"][0]["justification"] for r in run["results"] if "suppressions" in r)
    assert suppressed == [MONITORING_EXEMPTION, "research runs privileged profilers; ticket SEC-142"]
    assert all(r["level"] == "error" for r in errors)


def test_junit_report(tmp_path):
    result, out = _check_bad("junit", tmp_path)
    assert result.exit_code == 1
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites" and root.get("failures") == "4" and root.get("skipped") == "2"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {p.name for p in ALL_POLICIES}
    (failure,) = suites["gpu-stack-budget"].iter("failure")
    assert failure.get("type") == "mandatory" and "164 GPUs" in failure.get("message")


def test_text_report_shows_what_passed():
    result = runner.invoke(app, ["check", "--stack", "dev"])
    assert result.exit_code == 0, result.output
    assert f"Policy check of stack dev: {len(ALL_POLICIES)} policies" in result.output
    assert "0 failed (0 mandatory)" in result.output
    assert "s3-public-access-block" in result.output


def test_bad_policy_config_is_a_clear_error(tmp_path):
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"gpu-stack-budget": {"maxGpusPerStak": 3}}))
    result = runner.invoke(app, ["check", "--stack", "dev", "--policy-config", str(config)])
    assert result.exit_code == 2
    assert "gpu-stack-budget" in result.output and "maxGpusPerStak" in result.output


def test_pack_entry_point_and_manifest():
    manifest = yaml.safe_load((PROJECT_ROOT / "policies/PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    assert (PROJECT_ROOT / "policies" / manifest["runtime"]["options"]["virtualenv"]).resolve() == (
        PROJECT_ROOT / ".venv"
    ).resolve()
    source = (PROJECT_ROOT / "policies/__main__.py").read_text()
    assert "PolicyPack(name=PACK_NAME, policies=list[Policy](ALL_POLICIES)" in source
    compile(source, "policies/__main__.py", "exec")


def test_per_type_analyzers_give_what_the_engine_would():
    """`rayplat check` gives each type an analyzer of just the policies that apply to it, and the stack
    analyzer just the types stack rules read. The engine runs one analyzer of all policies on everything:
    both must report the same violations."""
    from pulumi.runtime import proto
    from pulumi_policy import EnforcementLevel
    from pulumi_policy.policy import _PolicyAnalyzerServicer

    from rayplat.check.engine import _Analyzer, _struct

    plan = plan_stack("overbudget", DATA / "stacks")
    plan = changed(
        plan,
        "aws:s3/bucketVersioning:BucketVersioning",
        "overbudget-artifacts",
        lambda r: r.inputs["versioningConfiguration"].update(status="Suspended"),
    )
    config = {"all": "mandatory", "gpu-stack-budget": {"maxGpusPerStack": 64}}
    settings = resolve_config(ALL_POLICIES, config)
    helper = _Analyzer(plan, settings)
    engine = _PolicyAnalyzerServicer("ray-platform", "0.1.0", ALL_POLICIES, EnforcementLevel.ADVISORY)
    engine.Configure(
        proto.ConfigureAnalyzerRequest(
            policyConfig={
                name: proto.PolicyConfig(
                    enforcementLevel=engine._map_enforcement_level(s.level), properties=_struct(s.properties)
                )
                for name, s in settings.items()
            }
        ),
        None,
    )
    expected = set()
    for resource in plan.resources:
        for d in engine.Analyze(helper.request(resource, resource.inputs), None).diagnostics:
            expected.add((d.policyName, resource.urn))
    every = proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(
                type=r.type,
                properties=_struct(r.inputs),
                urn=r.urn,
                name=r.name,
                provider=helper.provider(r),
                parent=r.parent,
                dependencies=r.dependencies,
            )
            for r in plan.resources
        ]
    )
    expected |= {(d.policyName, d.urn) for d in engine.AnalyzeStack(every, None).diagnostics}

    report = check_plan(plan, config)
    assert {(f.policy, f.resource_urn) for f in report.of_status("failed")} == expected
    assert (
        "s3-versioning",
        next(r.urn for r in plan.resources if r.name == "overbudget-artifacts" and r.type == "aws:s3/bucket:Bucket"),
    ) in expected


def test_docs_list_every_rule_as_the_code_describes_it():
    from rayplat.check.reports import catalog_markdown

    assert catalog_markdown(ALL_POLICIES) in (PROJECT_ROOT / "docs/policies.md").read_text()
