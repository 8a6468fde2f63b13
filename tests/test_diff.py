"""`rayplat diff`: real scenarios against the dev stack, the flags a reviewer must not miss, and the reports."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rayplat import PROJECT_ROOT
from rayplat.check.engine import check_plan, load_policy_config, policy_config_path
from rayplat.diff.engine import diff_plans, grants, policy_changes
from rayplat.diff.git import plan_at_ref
from rayplat.diff.report import COMMENT_LIMIT, marker, to_json, to_markdown
from rayplat.plan import run_program
from rayplat.plan.engine import PROGRAM, read_stack_config
from tests.conftest import get_key, planned, set_key

GOLDEN = Path(__file__).parent / "golden"


def _head(change) -> object:
    config = read_stack_config("dev")
    return run_program("dev", change(config), PROGRAM)


def _diff(base, head):
    changes = diff_plans(base, head)
    config = load_policy_config(policy_config_path("dev"))
    policy_changes(changes, check_plan(base, config), check_plan(head, config))
    return changes


def _with_pools(config, edit):
    pools = get_key(config, "gpuPools")
    edit(pools)
    return set_key(config, "gpuPools", pools)


NEW_POOL = {"name": "l40s", "instanceTypes": ["g6e.12xlarge"], "capacityType": "spot", "minSize": 0, "maxSize": 2}


@pytest.fixture(scope="module")
def add_pool():
    return _diff(planned("dev"), _head(lambda c: _with_pools(c, lambda p: p.append(NEW_POOL))))


@pytest.fixture(scope="module")
def widen_iam():
    head = copy.deepcopy(planned("dev"))
    policy = next(r for r in head.resources if r.type == "aws:iam/policy:Policy" and r.name == "dev-platform-ray")
    document = json.loads(policy.inputs["policy"])
    document["Statement"].append(
        {"Sid": "ReadEverything", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    )
    policy.inputs["policy"] = json.dumps(document)
    return _diff(planned("dev"), head)


def test_adding_a_gpu_pool(add_pool):
    created = {(c.type, c.name) for c in add_pool.of_action("create")}
    assert ("aws:eks/nodeGroup:NodeGroup", "dev-l40s") in created
    assert ("aws:ec2/launchTemplate:LaunchTemplate", "dev-l40s") in created
    assert sum(1 for t, _ in created if t == "aws:autoscaling/tag:Tag") == 6
    assert add_pool.of_action("delete") == [] and add_pool.of_action("replace") == []
    assert add_pool.gpus_before == {"a10g": 4, "l4": 2}
    assert add_pool.gpus_after == {"a10g": 4, "l4": 2, "l40s": 8}
    assert add_pool.gpu_total == (6, 14)
    # dev's policy config caps the stack at 16 GPUs: 14 is within; but 8 L40S GPUs lift the monthly ceiling
    # over dev's cost cap.
    assert [(v.policy, v.resource) for v in add_pool.new_violations] == [("stack-cost-ceiling", "dev")]
    assert add_pool.cost is not None and add_pool.cost.must_review


def test_changing_an_instance_type_replaces_the_node_group():
    diff = _diff(planned("dev"), _head(lambda c: _with_pools(c, lambda p: p[0].update(instanceTypes=["g5.12xlarge"]))))
    (replaced,) = [c for c in diff.of_action("replace") if c.replace_reasons == ["instanceTypes"]]
    assert (replaced.type, replaced.name, replaced.replace_reasons) == (
        "aws:eks/nodeGroup:NodeGroup",
        "dev-a10g",
        ["instanceTypes"],
    )
    assert replaced in diff.stateful_losses
    assert diff.gpus_after["a10g"] == 16 and diff.gpu_total == (6, 18)
    markdown = to_markdown(diff)
    assert (
        "**Stateful replace**: `aws:eks/nodeGroup:NodeGroup` `dev-a10g`, because `instanceTypes` changed: "
        "a new one is created and **the old one is destroyed with its data**"
    ) in markdown
    assert "**GPU capacity**: pool `a10g` max GPUs 4 → 16" in markdown
    # The ASG tags follow the new group's Auto Scaling group: replaced with it (the cascade), the one that
    # advertises GPUs per node with the new count.
    tag = next(c for c in diff.changes if c.name == "dev-a10g-resources-nvidia.com-gpu")
    assert (tag.action, tag.fields[0].old, tag.fields[0].new) == ("replace", "1", "4")
    assert tag.replace_reasons == ["autoscalingGroupName (from replaced dev-a10g)"]


def test_removing_the_bucket_is_flagged_and_retained():
    head = copy.deepcopy(planned("dev"))
    head.resources = [r for r in head.resources if "ArtifactStore" not in r.urn]
    diff = _diff(planned("dev"), head)
    losses = {(c.type, c.name, c.retained) for c in diff.stateful_losses}
    assert ("aws:s3/bucket:Bucket", "dev-artifacts", True) in losses
    assert ("aws:kms/key:Key", "dev-artifacts-key", True) in losses
    markdown = to_markdown(diff)
    assert (
        "**Stateful delete**: `aws:s3/bucket:Bucket` `dev-artifacts`: left behind in the cloud, unmanaged "
        "(retainOnDelete), not destroyed"
    ) in markdown
    assert "destroyed with its data" not in markdown


def test_renaming_the_protected_prod_bucket_is_blocked_with_the_safe_ways_to_proceed():
    config = read_stack_config("prod")
    renamed = set_key(config, "storage", {**get_key(config, "storage"), "bucketName": "acme-ray-prod-renamed"})
    diff = diff_plans(planned("prod"), run_program("prod", renamed, PROGRAM))
    (bucket,) = [c for c in diff.blocked if c.type == "aws:s3/bucket:Bucket"]
    assert (bucket.action, bucket.protected, bucket.retained) == ("replace", True, True)
    markdown = to_markdown(diff)
    assert (
        "**Blocked**: `aws:s3/bucket:Bucket` `prod-artifacts` would be replaced, because `bucket` changed" in markdown
    )
    assert "`pulumi up` refuses the whole update" in markdown
    assert "an alias" in markdown and "`pulumi import`" in markdown and "deliberate unprotect" in markdown
    assert "the old one is destroyed" not in markdown
    assert json.loads(to_json(diff))["summary"]["blocked"] == len(diff.blocked) >= 1
    assert f"**{len(diff.blocked)} blocked**" in markdown.splitlines()[2]


def test_changing_a_tag_updates_every_tagged_resource():
    diff = _diff(planned("dev"), _head(lambda c: set_key(c, "tags", {**get_key(c, "tags"), "owner": "ml-infra"})))
    assert diff.of_action("create") == diff.of_action("delete") == diff.of_action("replace") == []
    updated = diff.of_action("update")
    assert len(updated) > 30
    bucket = next(c for c in updated if c.type == "aws:s3/bucket:Bucket")
    assert [(f.path, f.old, f.new) for f in bucket.fields] == [("tags.owner", "platform-team", "ml-infra")]
    namespace = next(c for c in updated if c.type == "kubernetes:core/v1:Namespace")
    assert ("metadata.labels.owner", "platform-team", "ml-infra") in [(f.path, f.old, f.new) for f in namespace.fields]


def test_widening_an_iam_policy(widen_iam):
    (change,) = widen_iam.widened_iam
    assert change.name == "dev-platform-ray"
    assert [str(g) for g in change.added] == ["Allow s3:GetObject on *"]
    # Two rules catch it: the pack's own, and parliament's RESOURCE_STAR finding.
    assert [(v.policy, v.resource) for v in widen_iam.new_violations] == [
        ("iam-no-star-resource-on-data", "dev-platform-ray"),
        ("iam-parliament", "dev-platform-ray"),
    ]
    (update,) = widen_iam.of_action("update")
    assert update.fields[0].path == "policy.Statement[4].Action"  # appended after LocateBucket, List, RW, Key


def test_secrets_are_masked():
    base, head = copy.deepcopy(planned("dev")), copy.deepcopy(planned("dev"))
    release = next(r for r in head.resources if r.type == "kubernetes:helm.sh/v3:Release")
    release.inputs["values"]["adminPassword"] = "hunter2"
    (change,) = diff_plans(base, head).changes
    assert [(f.path, f.old, f.new) for f in change.fields] == [("values.adminPassword", None, "[secret]")]


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed: review, then UPDATE_GOLDEN=1 pytest {__file__}"


def test_golden_add_gpu_pool(add_pool):
    _golden("add-gpu-pool.md", to_markdown(add_pool))


def test_golden_widen_iam(widen_iam):
    _golden("widen-iam.md", to_markdown(widen_iam))


def test_comment_stays_under_the_limit_and_says_what_it_left_out():
    pools = [{**NEW_POOL, "name": f"extra-{i}"} for i in range(20)]
    head = _head(
        lambda c: set_key(
            _with_pools(c, lambda p: p.extend(pools)), "tags", {**get_key(c, "tags"), "owner": "ml-infra"}
        )
    )
    diff = diff_plans(planned("dev"), head)
    full = to_markdown(diff)
    assert len(full.encode()) < COMMENT_LIMIT
    small = to_markdown(diff, limit=12000)
    assert len(small) <= 12000
    assert "more changed resources are left out to stay under GitHub's comment limit" in small
    assert small.startswith(marker("dev")) and "GPU capacity: max 6 → 166" in small


def test_json_report(widen_iam):
    document = json.loads(to_json(widen_iam))
    assert document["summary"]["update"] == 1 and document["summary"]["iamWidened"] == 1
    assert document["newViolations"][0]["policy"] == "iam-no-star-resource-on-data"
    assert document["gpusBefore"] == {"a10g": 4, "l4": 2}


def _snake_keys(value) -> list[str]:
    if isinstance(value, dict):
        return [k for k in value if "_" in k] + [k for v in value.values() for k in _snake_keys(v)]
    return [k for v in value for k in _snake_keys(v)] if isinstance(value, list) else []


def test_json_report_keys_are_camel_case(add_pool):
    document = json.loads(to_json(add_pool))
    assert document["changes"] and document["changes"][0]["replaceReasons"] == []
    assert _snake_keys(document) == []


def test_a_create_shows_values_only_and_outputs_of_new_resources_as_known_after_apply(add_pool):
    markdown = to_markdown(add_pool)
    assert "- : {}" not in markdown and "+ : (none)" not in markdown
    creates = [block for block in markdown.split("```diff\n") if block.split("\n", 1)[0].endswith("(create)")]
    assert len(creates) >= 9
    assert not [line for block in creates for line in block.splitlines() if line.startswith("- ")]
    assert "+ autoscalingGroupName: (known after apply)" in markdown
    assert "eks-l40s-" not in markdown, "a mock engine's Auto Scaling group name is shown as real"
    assert "+ metadataOptions.httpTokens: required" in markdown


def test_diffing_two_different_stacks_warns():
    diff = diff_plans(planned("dev"), planned("staging"))
    assert diff.warnings and "`dev`" in diff.warnings[0] and "`staging`" in diff.warnings[0]
    assert "> [!WARNING]" in to_markdown(diff)


def test_no_changes():
    diff = diff_plans(planned("dev"), planned("dev"))
    assert diff.empty
    assert "### `dev`: no changes · max GPUs 6" in to_markdown(diff)


def test_plan_at_a_git_ref_runs_that_refs_own_code(tmp_path):
    """A repository whose last commit adds a GPU pool: the base ref plans without it, from its own tree."""
    repo = tmp_path / "repo"
    shutil.copytree(
        PROJECT_ROOT,
        repo,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", "tests", "docs"
        ),
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    stack_file = repo / "stacks" / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace("maxSize: 2\n", "maxSize: 6\n"))
    subprocess.run([*git, "commit", "-qam", "grow l4"], cwd=repo, check=True)

    base = plan_at_ref("dev", "HEAD~1", repo=repo)
    assert base.outputs["gpuPools"]["l4"]["maxSize"] == 2
    assert plan_at_ref("nope", "HEAD~1", repo=repo).resources == []
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True).stdout
    assert len(worktrees.strip().splitlines()) == 1, "the temporary worktree was not removed"


def test_a_field_the_program_ignores_is_not_an_update():
    head = copy.deepcopy(planned("dev"))
    groups = head.of_type("aws:eks/nodeGroup:NodeGroup")
    assert groups and all("scalingConfig.desiredSize" in g.ignoreChanges for g in groups)
    groups[0].inputs["scalingConfig"] = {**groups[0].inputs["scalingConfig"], "desiredSize": 7}
    assert diff_plans(planned("dev"), head).empty
    groups[0].inputs["scalingConfig"]["maxSize"] = 9
    (change,) = diff_plans(planned("dev"), head).changes
    assert [f.path for f in change.fields] == ["scalingConfig.maxSize"]


def test_a_trust_policy_grant_reads_who_may_assume_the_role():
    (grant,) = grants(
        {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "eks.amazonaws.com"}}]}
    )
    assert str(grant) == 'Allow sts:AssumeRole to {"Service":"eks.amazonaws.com"}'
