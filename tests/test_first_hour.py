"""What a newcomer meets first: a misspelled namespace, one typo's follow-on errors, YAML's number types, a
team cluster that outgrows its quota. Each is refused (or accepted) plainly, naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from rayplat import PROJECT_ROOT
from rayplat.cli import app
from stackconfig.errors import ConfigError
from stackconfig.loading import parse_stack_config
from tests.conftest import config_problems, get_key, planned, read_stack_config, set_key

runner = CliRunner()


def _stack_dir(tmp_path: Path, stack: str, edit) -> Path:
    document = yaml.safe_load((PROJECT_ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    edit(document["config"])
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    return tmp_path


def test_a_misspelled_namespace_is_refused_by_plan_naming_the_key(tmp_path):
    def misspell(config):
        config["ray-platfrom:teams"] = config.pop("ray-platform:teams")

    stacks = _stack_dir(tmp_path, "dev", misspell)
    result = runner.invoke(app, ["plan", "--stack", "dev", "--stacks-dir", str(stacks)])
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert "ray-platfrom:teams: unknown config namespace 'ray-platfrom'" in output
    assert "did you mean `ray-platform:`?" in output


def test_provider_namespaces_are_accepted_and_a_bare_key_is_refused():
    config = {**read_stack_config("dev"), "aws:region": "us-west-2", "pulumi:tags": "{}", "kubernetes:context": "x"}
    assert parse_stack_config(config).cloud == "aws"
    try:
        parse_stack_config({**config, "teams": "[]"})
    except ConfigError as exc:
        assert exc.problems == ["teams: has no namespace; write `ray-platform:teams`"]
    else:
        raise AssertionError("a key without a namespace was accepted")


def _follow_ons(problems: list[str]) -> list[str]:
    return [p for p in problems if "(follows from " in p]


def test_a_misspelt_pool_name_is_the_cause_and_the_quotas_naming_it_follow_from_it():
    config = read_stack_config("dev")
    pools = get_key(config, "gpuPools")
    pools[0]["nmae"] = pools[0].pop("name")
    problems = config_problems(set_key(config, "gpuPools", pools))
    assert problems[:2] == ["gpuPools[0].name: field required", "gpuPools[0].nmae: unknown key; did you mean `name`?"]
    assert problems[2:] == [
        f"teams[{i}].gpuQuota.a10g: no GPU pool 'a10g' (l4) (follows from gpuPools[0].name: fix that first)"
        for i in (0, 1)
    ]


def test_a_quota_naming_no_pool_at_all_is_a_cause_of_its_own():
    config = read_stack_config("dev")
    teams = get_key(config, "teams")
    teams[0]["gpuQuota"] = {"a10gg": {"nominal": 1}}
    problems = config_problems(set_key(config, "teams", teams))
    assert problems == ["teams[0].gpuQuota.a10gg: no GPU pool 'a10gg' (a10g, l4)"]


def test_a_wrong_accelerator_is_the_cause_of_the_zones_not_offering_it():
    config = read_stack_config("gcp-dev")
    pools = get_key(config, "gpuPools")
    t4 = next(i for i, p in enumerate(pools) if p.get("accelerator"))
    pools[t4]["accelerator"]["type"] = "nvidia-tesla-t4x"
    problems = config_problems(set_key(config, "gpuPools", pools))
    assert problems[0].startswith(f"gpuPools[{t4}].accelerator.type: 'nvidia-tesla-t4x' is not one of")
    follow_ons = _follow_ons(problems)
    assert follow_ons and follow_ons == problems[1:]
    assert all(f"(follows from gpuPools[{t4}].accelerator.type: fix that first)" in p for p in follow_ons)


def test_a_misspelt_gpus_per_node_of_an_existing_pool_is_the_cause_of_its_capacity_of_zero():
    config = read_stack_config("local")
    existing = get_key(config, "existing")
    existing["gpuPools"] = [{"name": "a100", "labels": {"gpu": "a100"}, "gpuModel": "A100", "gpusPerNoed": 8}]
    existing["networkPolicyEnforced"] = True
    team = {"name": "vision", "owner": "alice", "department": "research", "members": {"group": "ml-vision"}}
    config = set_key(set_key(config, "existing", existing), "teams", [{**team, "gpuQuota": {"a100": {"nominal": 8}}}])
    problems = config_problems(config)
    assert problems[0] == "existing.gpuPools[0].gpusPerNoed: unknown key; did you mean `gpusPerNode`?"
    assert (
        _follow_ons(problems)
        == problems[1:]
        == [
            "teams: the teams' nominal quotas on pool 'a100' add up to 8 GPUs, more than its capacity of 0 "
            "(maxSize x GPUs per node) (follows from existing.gpuPools[0].gpusPerNoed: fix that first)"
        ]
    )


def _dev_text_config(tmp_path: Path, *replacements: tuple[str, str]) -> dict[str, str]:
    text = (PROJECT_ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    (tmp_path / "Pulumi.t.yaml").write_text(text)
    return read_stack_config("t", tmp_path)


def test_yaml_numbers_are_taken_as_quantities_and_versions(tmp_path):
    config = parse_stack_config(
        _dev_text_config(
            tmp_path,
            ('kubernetesVersion: "1.34"', "kubernetesVersion: 1.34"),
            ('cpu: "48"', "cpu: 48"),
            ("memory: 192Gi", "memory: 206158430208"),
        )
    )
    assert config.cluster.kubernetes_version == "1.34"
    assert (config.teams[0].cpu, config.teams[0].memory) == ("48", "206158430208")
    fraction = parse_stack_config(_dev_text_config(tmp_path, ('cpu: "48"', "cpu: 48.5")))
    assert fraction.teams[0].cpu == "48.5"


def test_a_version_that_yaml_cut_short_is_refused_with_a_hint_to_quote(tmp_path):
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(_dev_text_config(tmp_path, ('kubernetesVersion: "1.34"', "kubernetesVersion: 1.30")))
    assert raised.value.problems == [
        "cluster.kubernetesVersion: is the number 1.3 (YAML drops the trailing zeros of an unquoted version): "
        'quote it ("1.30")'
    ]


def _nlp_with_h100_cluster(cpu: str, memory: str) -> dict[str, str]:
    """prod's nlp team with a standing cluster of at most 2 H100 workers (p5.48xlarge, 8 GPUs each)."""
    config = read_stack_config("prod")
    teams = get_key(config, "teams")
    teams[1].update(cpu=cpu, memory=memory, gpuQuota={"h100": {"nominal": 16}}, rayCluster={"maxWorkersPerPool": 2})
    return set_key(config, "teams", teams)


def test_a_team_cluster_that_outgrows_the_teams_cpu_or_memory_quota_is_refused_with_the_numbers():
    problems = config_problems(_nlp_with_h100_cluster("32", "128Gi"))
    how = "(head and autoscaler + 2 h100 workers x 8 GPUs; per GPU 2 CPUs and 8Gi)"
    fix = "raise the team's quota or lower rayCluster.maxWorkersPerPool"
    assert problems == [
        f"teams[1].rayCluster: at its maximum the team's RayCluster requests 34.5 CPUs {how}, more than the team's "
        f"cpu quota of 32: {fix}",
        f"teams[1].rayCluster: at its maximum the team's RayCluster requests 136.5Gi of memory {how}, more than the "
        f"team's memory quota of 128Gi: {fix}",
    ]


def test_a_team_cluster_that_just_fits_its_quota_is_accepted():
    config = parse_stack_config(_nlp_with_h100_cluster("34500m", "139776Mi"))
    assert config.teams[1].ray_cluster is not None


def test_prod_alerts_need_an_absolute_runbook_base_url():
    config = read_stack_config("prod")
    without = {k: v for k, v in config.items() if k != "ray-platform:observability"}
    assert [p for p in config_problems(without) if p.startswith("observability.")] == [
        "observability.runbookBaseUrl: required in prod: the absolute URL where your copy of docs/runbooks/ is "
        "browsable (https://<host>/<repository>/blob/<branch>/docs/runbooks/), so that each alert links to its page"
    ]
    relative = set_key(config, "observability", {"runbookBaseUrl": "docs/runbooks/"})
    assert config_problems(relative)[0].startswith("observability.runbookBaseUrl: string should match pattern")


def _platform_alerts(plan) -> list[dict]:
    (rule,) = [
        r
        for r in plan.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
        if r.inputs["metadata"]["name"] == "ray-platform"
    ]
    return rule.inputs["spec"]["groups"][0]["rules"]


def test_alerts_link_their_runbook_by_url_where_the_stack_gives_one_and_by_path_always():
    prod_rules, dev_rules = (_platform_alerts(planned(stack)) for stack in ("prod", "dev"))
    assert prod_rules and dev_rules
    base = get_key(read_stack_config("prod"), "observability")["runbookBaseUrl"]
    for rule in prod_rules:
        page = rule["annotations"]["runbook"]
        assert (PROJECT_ROOT / page).is_file(), page
        assert rule["annotations"]["runbook_url"] == base + page.removeprefix("docs/runbooks/")
    assert all("runbook_url" not in r["annotations"] and r["annotations"]["runbook"] for r in dev_rules)
