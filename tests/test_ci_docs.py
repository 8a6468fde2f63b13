"""docs/ci.md documents what the workflows use, with trust policies that parse and lint clean."""

from __future__ import annotations

import json
import re

import yaml
from parliament import analyze_policy_string

from rayplat import PROJECT_ROOT

DOC = (PROJECT_ROOT / "docs" / "ci.md").read_text()
WORKFLOWS = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
POLICIES = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", DOC, re.DOTALL)]
OIDC = "token.actions.githubusercontent.com"


def _trust_policies() -> list[dict]:
    return [p for p in POLICIES if "Principal" in p["Statement"][0]]


def _subjects(policy: dict) -> list[str]:
    subject = policy["Statement"][0]["Condition"]["StringEquals"][f"{OIDC}:sub"]
    return subject if isinstance(subject, list) else [subject]


def test_every_variable_and_secret_the_workflows_use_is_documented():
    used = {name for path in WORKFLOWS for name in re.findall(r"(?:vars|secrets)\.([A-Z_]+)", path.read_text())}
    assert {"PULUMI_BACKEND_URL", "PULUMI_SECRETS_PROVIDER", "RAYPLAT_PRIVATE_RUNNER_LABELS"} <= used
    assert [name for name in sorted(used) if f"`{name}`" not in DOC] == []


def test_each_role_trusts_only_its_own_subject():
    deploy, preview, drift = _trust_policies()
    for policy in (deploy, preview, drift):
        statement = policy["Statement"][0]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"]["Federated"].endswith(f":oidc-provider/{OIDC}")
        assert statement["Condition"]["StringEquals"][f"{OIDC}:aud"] == "sts.amazonaws.com"
    assert _subjects(deploy) == ["repo:your-org/ray-platform:environment:prod"]
    assert _subjects(preview) == ["repo:your-org/ray-platform:pull_request"]
    assert _subjects(drift) == ["repo:your-org/ray-platform:environment:drift"]


def test_the_read_only_roles_extra_policy_only_reads_state_and_decrypts():
    identity = [p for p in POLICIES if "Principal" not in p["Statement"][0]]
    assert len(identity) == 1 and len(POLICIES) == 4
    statements = identity[0]["Statement"]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "kms:Decrypt"}
    assert [f.issue for f in analyze_policy_string(json.dumps(identity[0])).findings] == []


def test_the_documented_drift_command_is_the_one_the_workflow_runs():
    jobs = yaml.safe_load((PROJECT_ROOT / ".github/workflows/drift.yml").read_text())["jobs"]
    pulumi_steps = [
        step for job in jobs.values() for step in job["steps"] if step.get("uses", "").startswith("pulumi/actions@")
    ]
    assert len(pulumi_steps) == 1
    inputs = pulumi_steps[0]["with"]
    flags = [f"--{name}" for name in ("refresh", "expect-no-changes", "diff") if inputs.get(name) is True]
    command = " ".join(["pulumi", inputs["command"], *flags, "--stack", "<stack>"])
    assert command.startswith("pulumi preview --refresh --expect-no-changes")
    assert f"```sh\n{command}\n```" in DOC.split("## Drift detection")[1]


def test_codeowners_puts_the_gate_and_prod_under_the_security_owners():
    owners = dict(
        line.split(maxsplit=1)
        for line in (PROJECT_ROOT / ".github" / "CODEOWNERS").read_text().splitlines()
        if line and not line.startswith("#")
    )
    expected = {"/policies/", "/.github/", "/stacks/Pulumi.prod.yaml", "/stacks/Pulumi.gcp-prod.yaml"}
    assert set(owners) == expected and set(owners.values()) == {"@your-org/platform-security"}
    for path in expected:
        assert (PROJECT_ROOT / path.strip("/")).exists(), path
    assert "@your-org/platform-security" in DOC and "pulumi config set --secret" in DOC
