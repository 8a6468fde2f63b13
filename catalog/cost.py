"""The cost model: a stack's resources (type and inputs, as a plan or the policy engine sees them) in, a
priced bill out, per component and pool, at the idle floor (every pool at its minimum), at the ceiling
(every pool at its maximum) and expected under a utilisation assumption; per team, the nominal GPU quota
priced on its pools, the borrowing limit apart, and the standing RayCluster's floor.

One reader for the plan (`rayplat cost`, `rayplat diff`), the policy pack and the stack outputs, so that
they cannot disagree. A price the catalogue lacks makes its line unknown, and every total it enters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from catalog import prices
from catalog.aws_instances import gpus_per_node
from catalog.gcp_machines import GPU_MACHINES
from catalog.karpenter import (
    CAPACITY_TYPE_LABEL,
    INSTANCE_TYPE_LABEL,
    NODECLASS_TYPE,
    NODEPOOL_TYPE,
    nodepool_gpu_limit,
    requirement_values,
)
from catalog.labels import GPU_RESOURCE, POOL_LABEL, ROLE_LABEL, TEAM_LABEL

Level = Literal["floor", "expected", "ceiling"]
LEVELS: tuple[Level, ...] = ("floor", "expected", "ceiling")
DEFAULT_UTILISATION = 0.3
# Stored objects are not in the plan: the bill prices this many GB in the artifact bucket.
DEFAULT_OBJECT_STORE_GB = 500

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_POOL = "gcp:container/nodePool:NodePool"
CLUSTERS = {"aws:eks/cluster:Cluster": "aws", "gcp:container/cluster:Cluster": "gcp"}
NATS = ("aws:ec2/natGateway:NatGateway", "gcp:compute/routerNat:RouterNat")
BUCKETS = ("aws:s3/bucket:Bucket", "gcp:storage/bucket:Bucket")
PROVIDERS = {"pulumi:providers:aws": "aws", "pulumi:providers:gcp": "gcp"}
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
CLUSTER_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
RESOURCE_FLAVOR = "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor"
RAY_CLUSTER = "kubernetes:ray.io/v1:RayCluster"
GPU = GPU_RESOURCE


@dataclass(frozen=True)
class Item:
    """One resource as the model reads it."""

    type: str
    urn: str
    inputs: Mapping[str, Any]
    dependencies: Sequence[str] = ()


@dataclass(frozen=True)
class Line:
    """Units of one priced thing: at the floor and at the ceiling, each at ``unit_monthly`` (None: unknown)."""

    component: str
    item: str
    floor: float
    ceiling: float
    unit_monthly: float | None
    sources: tuple[str, ...] = ()
    pool: str = ""
    gpus_per_unit: int = 0

    def units(self, level: Level, utilisation: float) -> float:
        if level == "expected":
            return self.floor + utilisation * (self.ceiling - self.floor)
        return self.floor if level == "floor" else self.ceiling

    def monthly(self, level: Level, utilisation: float) -> float | None:
        units = self.units(level, utilisation)
        if units == 0:
            return 0.0
        return None if self.unit_monthly is None else units * self.unit_monthly


@dataclass(frozen=True)
class Total:
    """A sum in USD per month; ``unknown`` names what could not be priced (then the sum is a lower bound)."""

    known: float
    unknown: tuple[str, ...] = ()

    @property
    def usd(self) -> float | None:
        return None if self.unknown else self.known


@dataclass(frozen=True)
class TeamShare:
    team: str
    nominal: dict[str, int]  # pool -> GPUs
    borrowing: dict[str, int]
    standing_gpus: dict[str, int]  # pool -> GPUs the team's RayCluster holds at its minimum
    nominal_monthly: Total
    borrowing_monthly: Total
    standing_monthly: Total


@dataclass(frozen=True)
class Bill:
    cloud: str
    region: str
    lines: tuple[Line, ...]
    teams: tuple[TeamShare, ...] = ()
    unallocated_gpus: dict[str, int] = field(default_factory=dict)
    unallocated_monthly: Total = Total(0.0)
    assumptions: tuple[str, ...] = ()
    object_store_gb: float = DEFAULT_OBJECT_STORE_GB

    def total(self, level: Level, utilisation: float = DEFAULT_UTILISATION, component: str | None = None) -> Total:
        lines = [line for line in self.lines if component is None or line.component == component]
        return _sum((line.monthly(level, utilisation), line.item) for line in lines)

    def components(self) -> list[str]:
        return list(dict.fromkeys(line.component for line in self.lines))

    def gpus(self, level: Level) -> int:
        return round(sum(line.units(level, 0.0) * line.gpus_per_unit for line in self.lines))

    def gpu_pools_ceiling(self) -> Total:
        return _sum((line.monthly("ceiling", 0.0), line.item) for line in self.lines if line.gpus_per_unit)


def _sum(parts: Iterable[tuple[float | None, str]]) -> Total:
    known, unknown = 0.0, []
    for usd, what in parts:
        if usd is None:
            unknown.append(what)
        else:
            known += usd
    return Total(round(known, 2), tuple(dict.fromkeys(unknown)))


def _number(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def _dig(value: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(value, Sequence) or isinstance(value, str) or len(value) <= key:
                return None
        elif not isinstance(value, Mapping):
            return None
        value = value[key] if isinstance(key, int) else value.get(key)
    return value


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def _gib(quantity: Any) -> float:
    """``50Gi`` -> 50; other suffixes (``Ti``, ``G``) converted; anything else 0."""
    text = str(quantity or "")
    for suffix, factor in (
        ("Ti", 1024.0),
        ("Gi", 1.0),
        ("Mi", 1 / 1024),
        ("T", 1000 / 1.073741824),
        ("G", 1 / 1.073741824),
    ):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * factor
    return 0.0


def _monthly(price: prices.Price | None, per: str = "hour") -> float | None:
    if price is None:
        return None
    return price.usd * (prices.HOURS_PER_MONTH if per == "hour" else 1.0)


@dataclass(frozen=True)
class Pool:
    """A node pool as the model prices it."""

    name: str
    gpu: bool
    instance_types: tuple[str, ...]
    spot: bool
    min_size: float
    max_size: float
    disk_gib: float
    accelerators: tuple[tuple[str, int], ...] = ()  # attached accelerators per node (GCP N1)
    gpus_per_node: int = 0


def _node_price(cloud: str, region: str, pool: Pool) -> tuple[float | None, tuple[str, ...]]:
    """A node's USD per month (the dearest of its instance types, attached accelerators and root disk)."""
    instance = [prices.instance_hourly(cloud, region, t, pool.spot) for t in pool.instance_types]
    extras = [prices.accelerator_hourly(cloud, region, a, pool.spot) for a, _ in pool.accelerators]
    disk = prices.fee(cloud, region, "blockGbMonth")
    found = [p for p in (*instance, *extras, disk) if p is not None]
    used = tuple(dict.fromkeys(key for p in found for key in p.keys))
    if not instance or None in instance or None in extras or disk is None:
        return None, used
    hourly = max(p.usd for p in instance if p is not None)
    hourly += sum(p.usd * count for p, (_, count) in zip(extras, pool.accelerators, strict=True) if p is not None)
    return hourly * prices.HOURS_PER_MONTH + pool.disk_gib * disk.usd, used


def pool_line(cloud: str, region: str, pool: Pool) -> Line:
    unit, sources = _node_price(cloud, region, pool)
    kind = "spot" if pool.spot else "on-demand"
    attached = "".join(f" + {count}× {name}" for name, count in pool.accelerators)
    return Line(
        component=f"GPU pool {pool.name}" if pool.gpu else "system pool",
        item=f"{pool.name}: {' | '.join(pool.instance_types)}{attached} {kind} + {pool.disk_gib:g} GiB disk",
        floor=pool.min_size,
        ceiling=pool.max_size,
        unit_monthly=unit,
        sources=sources,
        pool=pool.name,
        gpus_per_unit=pool.gpus_per_node if pool.gpu else 0,
    )


def _aws_pool(item: Item, templates: Mapping[str, Item]) -> Pool:
    labels = _dig(item.inputs, "labels") or {}
    types = tuple(str(t) for t in _list(item.inputs.get("instanceTypes")))
    template = next((templates[d] for d in item.dependencies if d in templates), None)
    disk = sum(
        _number(_dig(m, "ebs", "volumeSize"))
        for m in _list(_dig(template.inputs, "blockDeviceMappings") if template else None)
    )
    return Pool(
        name=str(labels.get(POOL_LABEL, "")),
        gpu=labels.get(ROLE_LABEL) == "gpu",
        instance_types=types,
        spot=item.inputs.get("capacityType") == "SPOT",
        min_size=_number(_dig(item.inputs, "scalingConfig", "minSize")),
        max_size=_number(_dig(item.inputs, "scalingConfig", "maxSize")),
        disk_gib=disk,
        gpus_per_node=gpus_per_node(types) or 0,
    )


def attached_accelerators(machine: str, accelerators: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    """The accelerators priced apart from a GCP machine: none where the machine's price includes its GPUs."""
    built_in = GPU_MACHINES.get(machine)
    return () if built_in is not None and built_in.accelerator else accelerators


def _gcp_pool(item: Item) -> Pool:
    node = _dig(item.inputs, "nodeConfig") or {}
    labels = _dig(node, "labels") or {}
    machine = str(node.get("machineType", ""))
    accelerators = tuple(
        (str(_dig(a, "type")), int(_number(_dig(a, "count")))) for a in _list(node.get("guestAccelerators"))
    )
    built_in = GPU_MACHINES.get(machine)
    autoscaling = _dig(item.inputs, "autoscaling") or {}
    zones = max(len(_list(item.inputs.get("nodeLocations"))), 1)
    if "totalMaxNodeCount" in autoscaling:
        low, high = _number(autoscaling.get("totalMinNodeCount")), _number(autoscaling.get("totalMaxNodeCount"))
    elif autoscaling:
        low, high = _number(autoscaling.get("minNodeCount")) * zones, _number(autoscaling.get("maxNodeCount")) * zones
    else:
        low = high = _number(item.inputs.get("nodeCount"), _number(item.inputs.get("initialNodeCount"))) * zones
    return Pool(
        name=str(labels.get(POOL_LABEL, "")),
        gpu=labels.get(ROLE_LABEL) == "gpu",
        instance_types=(machine,),
        spot=bool(node.get("spot")) or bool(node.get("preemptible")),
        min_size=low,
        max_size=high,
        disk_gib=_number(node.get("diskSizeGb"), 100.0),
        accelerators=attached_accelerators(machine, accelerators),
        gpus_per_node=sum(count for _, count in accelerators) or (built_in.gpus if built_in else 0),
    )


def _karpenter_pool(item: Item, node_classes: Mapping[str, Item]) -> Pool:
    """A NodePool: nodes from none up to its GPU limit; spot first where spot is allowed, priced as spot."""
    template = _dig(item.inputs, "spec", "template") or {}
    labels = _dig(template, "metadata", "labels") or {}
    types = requirement_values(item.inputs, INSTANCE_TYPE_LABEL)
    per_node = gpus_per_node(types) or 0
    node_class = node_classes.get(str(_dig(template, "spec", "nodeClassRef", "name")))
    mappings = _list(_dig(node_class.inputs, "spec", "blockDeviceMappings")) if node_class else []
    return Pool(
        name=str(labels.get(POOL_LABEL, "")),
        gpu=labels.get(ROLE_LABEL) == "gpu",
        instance_types=types,
        spot="spot" in requirement_values(item.inputs, CAPACITY_TYPE_LABEL),
        min_size=0,
        max_size=(nodepool_gpu_limit(item.inputs) or 0) / per_node if per_node else 0,
        disk_gib=sum(_gib(_dig(m, "ebs", "volumeSize")) for m in mappings),
        gpus_per_node=per_node,
    )


def pools_of(items: Sequence[Item]) -> list[Pool]:
    templates = {i.urn: i for i in items if i.type == LAUNCH_TEMPLATE}
    node_classes = {str(_dig(i.inputs, "metadata", "name")): i for i in items if i.type == NODECLASS_TYPE}
    aws = [_aws_pool(i, templates) for i in items if i.type == NODE_GROUP]
    karpenter = [_karpenter_pool(i, node_classes) for i in items if i.type == NODEPOOL_TYPE]
    return aws + karpenter + [_gcp_pool(i) for i in items if i.type == NODE_POOL]


def _where(items: Sequence[Item]) -> tuple[str, str]:
    for item in items:
        if item.type in PROVIDERS and item.inputs.get("region"):
            return PROVIDERS[item.type], str(item.inputs["region"])
    return "existing", ""


def prometheus_gib(items: Sequence[Item]) -> float:
    path = ("prometheus", "prometheusSpec", "storageSpec", "volumeClaimTemplate", "spec", "resources", "requests")
    return sum(
        _gib(_dig(i.inputs, "values", *path, "storage"))
        for i in items
        if i.type == HELM_RELEASE and i.inputs.get("chart") == "kube-prometheus-stack"
    )


@dataclass(frozen=True)
class Inventory:
    """What the bill prices, read from resources (or, in the program, from the config)."""

    cloud: str
    region: str
    clusters: int
    nat_gateways: int
    buckets: int
    prometheus_gib: float
    pools: tuple[Pool, ...]
    quotas: tuple[tuple[str, str, int, int], ...] = ()  # team, pool, nominal GPUs, borrowing limit
    standing: tuple[tuple[str, str, int], ...] = ()  # team, pool, GPUs of its RayCluster's minimum


def inventory(resources: Iterable[Item]) -> Inventory:
    items = list(resources)
    cloud, region = _where(items)
    return Inventory(
        cloud=cloud,
        region=region,
        clusters=sum(1 for i in items if i.type in CLUSTERS),
        nat_gateways=sum(1 for i in items if i.type in NATS),
        buckets=sum(1 for i in items if i.type in BUCKETS),
        prometheus_gib=prometheus_gib(items),
        pools=tuple(pools_of(items)),
        quotas=tuple(_quotas(items)),
        standing=tuple(_standing(items)),
    )


def _flavor_pools(items: Sequence[Item]) -> dict[str, str]:
    return {
        str(_dig(i.inputs, "metadata", "name")): str(_dig(i.inputs, "spec", "nodeLabels", POOL_LABEL))
        for i in items
        if i.type == RESOURCE_FLAVOR and _dig(i.inputs, "spec", "nodeLabels", POOL_LABEL)
    }


def _quotas(items: Sequence[Item]) -> Iterable[tuple[str, str, int, int]]:
    flavors = _flavor_pools(items)
    for queue in (i for i in items if i.type == CLUSTER_QUEUE):
        team = str(_dig(queue.inputs, "metadata", "labels", TEAM_LABEL) or _dig(queue.inputs, "metadata", "name"))
        for group in _list(_dig(queue.inputs, "spec", "resourceGroups")):
            for flavor in _list(_dig(group, "flavors")):
                pool = flavors.get(str(_dig(flavor, "name")))
                for resource in _list(_dig(flavor, "resources")):
                    if pool and _dig(resource, "name") == GPU:
                        nominal = int(_number(_dig(resource, "nominalQuota")))
                        yield team, pool, nominal, int(_number(_dig(resource, "borrowingLimit")))


def standing_gpus(ray_cluster: Mapping[str, Any]) -> dict[str, int]:
    """Pool -> GPUs a RayCluster's worker groups hold at their minimum replicas."""
    held: dict[str, int] = {}
    for group in _list(_dig(ray_cluster, "spec", "workerGroupSpecs")):
        spec = _dig(group, "template", "spec") or {}
        pool = str(_dig(spec, "nodeSelector", POOL_LABEL) or "")
        gpus = sum(_number(_dig(c, "resources", "limits", GPU)) for c in _list(_dig(spec, "containers")))
        if pool and gpus * _number(_dig(group, "minReplicas")):
            held[pool] = held.get(pool, 0) + int(gpus * _number(_dig(group, "minReplicas")))
    return held


def _standing(items: Sequence[Item]) -> Iterable[tuple[str, str, int]]:
    teams = _namespace_teams(items)
    for cluster in (i for i in items if i.type == RAY_CLUSTER):
        team = teams.get(str(_dig(cluster.inputs, "metadata", "namespace")), "")
        for pool, gpus in standing_gpus(cluster.inputs).items():
            if team:
                yield team, pool, gpus


def _namespace_teams(items: Sequence[Item]) -> dict[str, str]:
    return {
        str(_dig(q.inputs, "spec", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name")): str(
            _dig(q.inputs, "metadata", "labels", TEAM_LABEL) or _dig(q.inputs, "metadata", "name")
        )
        for q in items
        if q.type == CLUSTER_QUEUE
    }


def _fixed(component: str, item: str, count: float, price: prices.Price | None, per: str = "hour") -> Line:
    return Line(component, item, count, count, _monthly(price, per), price.keys if price else ())


def price(inv: Inventory, object_store_gb: float = DEFAULT_OBJECT_STORE_GB) -> Bill:
    """The bill of an inventory; an existing cluster's own nodes are not the platform's to price."""
    if inv.cloud == "existing":
        existing = _assumptions(object_store_gb, existing=True)
        return Bill(inv.cloud, inv.region, (), assumptions=existing, object_store_gb=object_store_gb)
    c, r = inv.cloud, inv.region
    block = prices.fee(c, r, "blockGbMonth")
    lines = [
        _fixed(
            "control plane",
            f"{'EKS' if c == 'aws' else 'GKE'} cluster fee",
            inv.clusters,
            prices.fee(c, r, "clusterHour"),
        ),
        _fixed("network", "NAT gateway", inv.nat_gateways, prices.fee(c, r, "natGatewayHour")),
        *(pool_line(c, r, p) for p in sorted(inv.pools, key=lambda p: (p.gpu, p.name))),
        _fixed(
            "storage",
            f"object storage, {object_store_gb:g} GB assumed",
            inv.buckets * object_store_gb,
            prices.fee(c, r, "objectGbMonth"),
            per="month",
        ),
        _fixed("observability", "Prometheus volume (GiB)", inv.prometheus_gib, block, per="month"),
    ]
    lines = [line for line in lines if line.ceiling]
    per_gpu = {line.pool: _per_gpu(line) for line in lines if line.gpus_per_unit}
    teams = _teams(inv, per_gpu)
    capacity = {line.pool: round(line.ceiling * line.gpus_per_unit) for line in lines if line.gpus_per_unit}
    nominal = {pool: sum(q[2] for q in inv.quotas if q[1] == pool) for pool in capacity}
    unallocated = {pool: capacity[pool] - nominal[pool] for pool in capacity}
    return Bill(
        c,
        r,
        tuple(lines),
        teams,
        unallocated,
        _sum((_gpus_monthly(per_gpu, pool, n), pool) for pool, n in unallocated.items()),
        _assumptions(object_store_gb),
        object_store_gb,
    )


def _per_gpu(line: Line) -> float | None:
    return None if line.unit_monthly is None else line.unit_monthly / line.gpus_per_unit


def _gpus_monthly(per_gpu: Mapping[str, float | None], pool: str, gpus: int) -> float | None:
    unit = per_gpu.get(pool)
    return 0.0 if gpus == 0 else (None if unit is None else gpus * unit)


def _teams(inv: Inventory, per_gpu: Mapping[str, float | None]) -> tuple[TeamShare, ...]:
    names = list(dict.fromkeys([q[0] for q in inv.quotas] + [s[0] for s in inv.standing]))
    shares = []
    for team in names:
        nominal = {q[1]: q[2] for q in inv.quotas if q[0] == team}
        borrowing = {q[1]: q[3] for q in inv.quotas if q[0] == team}
        standing: dict[str, int] = {}
        for name, pool, gpus in inv.standing:
            if name == team:
                standing[pool] = standing.get(pool, 0) + gpus

        def priced(gpus: Mapping[str, int]) -> Total:
            return _sum((_gpus_monthly(per_gpu, pool, n), pool) for pool, n in gpus.items())

        shares.append(
            TeamShare(team, nominal, borrowing, standing, priced(nominal), priced(borrowing), priced(standing))
        )
    return tuple(shares)


def _assumptions(object_store_gb: float, existing: bool = False) -> tuple[str, ...]:
    if existing:
        return ("an existing cluster: its nodes, control plane and network are not the platform's to price",)
    return (
        f"{prices.HOURS_PER_MONTH} hours a month; on-demand list prices, no savings plans, reservations or credits",
        "idle floor: every pool at its minimum size; ceiling: every pool at its maximum size (a Karpenter "
        "NodePool: none at the floor, its GPU limit at the ceiling; spot first with on-demand fallback is priced "
        "as spot)",
        "expected: floor + utilisation x (ceiling - floor), pool by pool",
        "a pool of several instance types is priced at its dearest type",
        "AWS spot: on-demand price x the family's spot factor (an assumption); GCP spot: the published spot price",
        f"artifact store: {object_store_gb:g} GB stored; data transfer, requests and NAT processing are not priced",
        "a team's share: its nominal GPU quota priced per GPU of its pools; borrowing is shown apart",
    )


def bill(resources: Iterable[Item], object_store_gb: float = DEFAULT_OBJECT_STORE_GB) -> Bill:
    return price(inventory(resources), object_store_gb)


def total_json(total: Total) -> dict[str, Any]:
    return {"usd": total.usd, "knownUsd": total.known, "unknown": list(total.unknown)}


def headline(stack_bill: Bill, utilisation: float = DEFAULT_UTILISATION) -> dict[str, Any]:
    """The figures the stack outputs, `rayplat cost --format json` and the plan summary share."""
    return {
        "currency": "USD",
        "period": "month",
        "utilisation": utilisation,
        "objectStoreGb": stack_bill.object_store_gb,
        **{f"{level}Monthly": total_json(stack_bill.total(level, utilisation)) for level in LEVELS},
        "floorGpus": stack_bill.gpus("floor"),
        "ceilingGpus": stack_bill.gpus("ceiling"),
    }
