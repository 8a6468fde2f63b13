"""The rules that span keys, run on the raw keys so that they report even when other keys are invalid."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from catalog.aws_instances import GPU_INSTANCE_TYPES
from catalog.capacity import max_gpus
from catalog.gcp_machines import GPU_MACHINES
from catalog.tagging import GCP_LABEL_KEY, GCP_LABEL_VALUE
from stackconfig.access import access_problems
from stackconfig.base import Problem, raw_bool, raw_int, raw_list, raw_mapping
from stackconfig.cluster import LOG_RETENTION_DAYS
from stackconfig.gcp import GKE_CLUSTER_NAME
from stackconfig.karpenter import karpenter_problems
from stackconfig.pools import SystemPoolConfig
from stackconfig.teams import team_identity_problems
from stackconfig.tracking import tracking_problems

# The keys each cloud needs, and those that belong to another cloud.
_CLOUD_KEYS = {
    "aws": {"required": ("aws", "network", "cluster.adminRoleArn"), "foreign": ("gcp", "existing")},
    # The system pool's default instance type is an AWS one: GCP stacks name their machine type.
    "gcp": {
        "required": ("gcp", "systemPool.instanceTypes"),
        "foreign": (
            "aws",
            "network",
            "existing",
            "cluster.adminRoleArn",
            "cluster.deployRoleArn",
            "cluster.logRetentionDays",
            "cluster.kubernetesVersion",
        ),
    },
    "existing": {
        "required": ("existing",),
        "foreign": ("aws", "gcp", "network", "cluster", "systemPool", "gpuPools", "storage"),
    },
}


def cross_key_problems(raw: Mapping[str, Any]) -> Iterable[tuple[str, str] | Problem]:
    """The rules that span keys, run on the raw keys so that they report even when other keys are invalid.
    Each rule looks only at values of the shape it needs; shape errors are the models' to report."""
    yield from _cloud_keys(raw)
    environment, tags = raw.get("environment"), raw_mapping(raw.get("tags"))
    if isinstance(tags.get("env"), str) and isinstance(environment, str) and tags["env"] != environment:
        yield "tags.env", f"'{tags['env']}' must equal environment ('{environment}')"
    if environment == "prod" and raw_bool(raw_mapping(raw.get("storage")).get("forceDestroy")):
        yield "storage.forceDestroy", "is not allowed in prod: the artifact bucket holds data"
    observability = raw_mapping(raw.get("observability"))
    if (
        environment == "prod"
        and raw_bool(observability.get("enabled", True))
        and not observability.get("runbookBaseUrl")
    ):
        yield (
            "observability.runbookBaseUrl",
            "required in prod: the absolute URL where your copy of docs/runbooks/ is browsable "
            "(https://<host>/<repository>/blob/<branch>/docs/runbooks/), so that each alert links to its page",
        )
    if raw.get("cloud") == "aws":
        yield from _eks_access_and_logs(raw)
    region = raw_mapping(raw.get("aws")).get("region")
    zones = raw_mapping(raw.get("network")).get("availabilityZones")
    if isinstance(region, str) and region and isinstance(zones, list):
        for i, zone in enumerate(zones):
            if isinstance(zone, str) and not (zone.startswith(region) and len(zone) == len(region) + 1):
                yield f"network.availabilityZones[{i}]", f"'{zone}' is not a zone of {region}"
    yield from _duplicate_pool_names(raw)
    yield from karpenter_problems(raw)
    yield from _team_rules(raw)
    if raw_bool(raw_mapping(raw.get("observability")).get("managedPrometheus")) and raw.get("cloud") != "aws":
        yield "observability.managedPrometheus", "is supported on AWS (Amazon Managed Prometheus) only"
    if raw.get("cloud") == "gcp":
        yield from _gcp_rules(raw, tags)
    yield from _team_enforcers(raw)
    yield from team_identity_problems(raw)
    yield from access_problems(raw)
    yield from tracking_problems(raw)


def _present(raw: Mapping[str, Any], path: str) -> bool:
    section, _, key = path.partition(".")
    return raw.get(section) is not None if not key else raw_mapping(raw.get(section)).get(key) is not None


def _cloud_keys(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    cloud = raw.get("cloud")
    if not isinstance(cloud, str) or cloud not in _CLOUD_KEYS:
        return
    for path in _CLOUD_KEYS[cloud]["required"]:
        if not _present(raw, path):
            yield path, f"required when cloud is '{cloud}'"
    for path in _CLOUD_KEYS[cloud]["foreign"]:
        if _present(raw, path):
            yield path, f"does not apply when cloud is '{cloud}'"


def _eks_access_and_logs(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    cluster = raw_mapping(raw.get("cluster"))
    deploy, retention = cluster.get("deployRoleArn"), cluster.get("logRetentionDays")
    if raw.get("environment") == "prod":
        if deploy is None:
            yield (
                "cluster.deployRoleArn",
                "required in prod: the cluster's creator gets no implicit admin there, so the role that runs "
                "`pulumi up` needs its own access entry to install the kubernetes layer",
            )
        if isinstance(retention, int) and retention < LOG_RETENTION_DAYS["prod"]:
            yield (
                "cluster.logRetentionDays",
                f"must be at least {LOG_RETENTION_DAYS['prod']} in prod ({retention} given)",
            )
    if isinstance(deploy, str) and deploy == cluster.get("adminRoleArn"):
        yield "cluster.deployRoleArn", "must differ from adminRoleArn: EKS holds one access entry per principal"


def _gcp_rules(raw: Mapping[str, Any], tags: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    gcp = raw_mapping(raw.get("gcp"))
    region, zones = gcp.get("region"), gcp.get("zones")
    if isinstance(region, str) and region and isinstance(zones, list):
        for i, zone in enumerate(zones):
            if isinstance(zone, str) and zone.rsplit("-", 1)[0] != region:
                yield f"gcp.zones[{i}]", f"'{zone}' is not a zone of {region}"
    # The cost tags become GCP labels: lowercase, digits, '_' and '-'.
    for key, value in tags.items():
        if not (isinstance(value, str) and GCP_LABEL_KEY.match(key) and GCP_LABEL_VALUE.match(value)):
            yield f"tags.{key}", f"'{key}: {value}' is not a valid GCP label (lowercase [a-z0-9_-], at most 63)"
    pools = [("systemPool", raw_mapping(raw.get("systemPool")))]
    pools += [(f"gpuPools[{i}]", raw_mapping(p)) for i, p in enumerate(raw_list(raw.get("gpuPools")))]
    for where, pool in pools:
        machines = raw_list(pool.get("instanceTypes"))
        for j, machine in enumerate(machines):
            if isinstance(machine, str) and "." in machine:
                yield f"{where}.instanceTypes[{j}]", f"'{machine}' is an AWS instance type, not a GCP machine type"
        if where == "systemPool" and len(machines) > 1:
            yield "systemPool.instanceTypes", "a GKE node pool has exactly one machine type"
    name = raw_mapping(raw.get("cluster")).get("name")
    if isinstance(name, str) and not GKE_CLUSTER_NAME.match(name):
        yield "cluster.name", f"'{name}' is not a GKE cluster name (lowercase, at most 40 characters)"


def _team_enforcers(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """Teams are isolated by NetworkPolicies and given access by RoleBindings to their group: refuse teams
    on a cluster where nothing would enforce the one or fill the other."""
    if not raw.get("teams"):
        return
    if raw.get("cloud") == "gcp" and raw_mapping(raw.get("gcp")).get("rbacSecurityGroup") is None:
        yield (
            "gcp.rbacSecurityGroup",
            "required when teams are declared: each team's RoleBinding names a Google group, and GKE puts "
            "users in groups only through Google Groups for RBAC (gke-security-groups@<your domain>)",
        )
    existing = raw_mapping(raw.get("existing"))
    if raw.get("cloud") == "existing" and existing and existing.get("networkPolicyEnforced") is not True:
        yield (
            "existing.networkPolicyEnforced",
            "must be true when teams are declared: teams are isolated by NetworkPolicies, which only a CNI that "
            "enforces them applies (Calico, Cilium, kindnetd from kind 0.24); elsewhere they are ignored",
        )


def _team_rules(raw: Mapping[str, Any]) -> Iterable[tuple[str, str] | Problem]:
    """Team names are unique, quotas name GPU pools that exist, and no pool is promised more GPUs
    (sum of nominal quotas) than it can hold (max nodes x GPUs per node)."""
    capacity = gpu_pool_capacity(raw)
    pools = _gpu_pool_paths(raw)
    unnamed = tuple(path for path, name in pools.items() if not isinstance(name, str))
    promised: dict[str, int] = {}
    seen: set[str] = set()
    for i, team in enumerate(raw_mapping(t) for t in raw_list(raw.get("teams"))):
        name = team.get("name")
        if isinstance(name, str):
            if name in seen:
                yield f"teams[{i}].name", f"duplicate team name '{name}'"
            seen.add(name)
        for pool, quota in raw_mapping(team.get("gpuQuota")).items():
            if pool not in capacity:
                where, known = f"teams[{i}].gpuQuota.{pool}", ", ".join(sorted(capacity)) or "none"
                yield Problem(where, f"no GPU pool '{pool}' ({known})", after=unnamed)
            elif (nominal := raw_int(raw_mapping(quota).get("nominal"))) is not None:
                promised[pool] = promised.get(pool, 0) + nominal
    for pool, gpus in sorted(promised.items()):
        limit = capacity[pool]
        if limit is not None and gpus > limit:
            yield Problem(
                "teams",
                (
                    f"the teams' nominal quotas on pool '{pool}' add up to {gpus} GPUs, more than its capacity "
                    f"of {limit} (maxSize x GPUs per node)"
                ),
                after=tuple(path for path, name in pools.items() if name == pool),
            )


def _gpu_pool_paths(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The key path of each GPU pool (the platform's, or an existing cluster's) and its raw name."""
    if raw.get("cloud") == "existing":
        pools = raw_list(raw_mapping(raw.get("existing")).get("gpuPools"))
        return {f"existing.gpuPools[{i}]": raw_mapping(p).get("name") for i, p in enumerate(pools)}
    return {f"gpuPools[{i}]": raw_mapping(p).get("name") for i, p in enumerate(raw_list(raw.get("gpuPools")))}


def gpu_pool_capacity(raw: Mapping[str, Any]) -> dict[str, int | None]:
    """Max GPUs of each GPU pool the raw config names (platform pools, or an existing cluster's); None where
    the pool's own keys do not say (the models report why)."""
    if raw.get("cloud") == "existing":
        pools = raw_list(raw_mapping(raw.get("existing")).get("gpuPools"))
        return {
            p["name"]: _product(raw_int(p.get("maxNodes", 1)), raw_int(p.get("gpusPerNode", 0)))
            for p in map(raw_mapping, pools)
            if isinstance(p.get("name"), str)
        }
    capacity = {}
    for pool in map(raw_mapping, raw_list(raw.get("gpuPools"))):
        if isinstance(pool.get("name"), str):
            types = raw_list(pool.get("instanceTypes")) or [""]
            gpus = _gpus_per_node(types[0], raw_mapping(pool.get("accelerator")))
            capacity[pool["name"]] = _product(raw_int(pool.get("maxSize")), gpus)
    return capacity


def _product(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else max_gpus(a, b)


def _gpus_per_node(instance_type: Any, accelerator: Mapping[str, Any]) -> int | None:
    """GPUs per node of a GPU instance or machine type, None if it is not one."""
    if not isinstance(instance_type, str):
        return None
    if instance_type in GPU_INSTANCE_TYPES:
        return GPU_INSTANCE_TYPES[instance_type].gpus
    machine = GPU_MACHINES.get(instance_type)
    if machine is None or machine.gpus:
        return machine.gpus if machine else None
    return raw_int(accelerator.get("count", 1)) if accelerator else None


def _duplicate_pool_names(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    system_name = raw_mapping(raw.get("systemPool")).get("name", SystemPoolConfig.model_fields["name"].default)
    seen = {system_name} if isinstance(system_name, str) else set()
    for i, pool in enumerate(raw_list(raw.get("gpuPools"))):
        name = raw_mapping(pool).get("name")
        if isinstance(name, str):
            if name in seen:
                yield f"gpuPools[{i}].name", f"duplicate pool name '{name}'"
            seen.add(name)
