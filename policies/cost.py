"""Cost controls: a ceiling on what a stack can cost a month, and no standing GPUs in development.

Both read the stack through the catalogue's cost model, the same one `rayplat cost` and the stack outputs
use, so the pack, the CLI and the outputs cannot disagree about a figure.
"""

from __future__ import annotations

from collections.abc import Iterable

from pulumi_policy import Severity

from catalog.cost import CLUSTERS, NODE_GROUP, NODE_POOL, PROVIDERS, RAY_CLUSTER, Item, bill, inventory, standing_gpus
from policies.rules import Rule, Subject, dig, of_type, plain, stack_rule

_CLUSTERS = tuple(CLUSTERS)
_POOLS = (NODE_GROUP, NODE_POOL)
_PRICED = ("aws:*", "gcp:*", "kubernetes:helm.sh/v3:Release", "kubernetes:kueue.x-k8s.io/v1beta2:*", RAY_CLUSTER)
CONTROLS = ("EKS BP AI/ML Compute: GPU Resource Optimization and Cost Management",)

_CEILING_CONFIG = {
    "maxMonthlyUsd": {
        "type": ["number", "null"],
        "minimum": 0,
        "default": None,
        "description": "The most the stack may cost a month with every pool at its maximum (USD); null: no cap.",
    },
    "reviewIncreaseShare": {
        "type": "number",
        "minimum": 0,
        "default": 0.1,
        "description": "`rayplat diff` marks a change that raises the ceiling by more than this share as must-review.",
    },
    "reviewIncreaseUsd": {
        "type": "number",
        "minimum": 0,
        "default": 1000,
        "description": "`rayplat diff` marks a change that raises the ceiling by more than this amount as must-review.",
    },
}
_IDLE_CONFIG = {
    "environments": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["dev"],
        "description": "Values of the `env` cost tag whose idle floor must hold no GPU.",
    }
}


def items(subjects: Iterable[Subject]) -> list[Item]:
    """The stack as the cost model reads it, with each cloud provider's inputs (its region)."""
    found = [Item(s.type, s.urn, plain(s.props), s.dependencies) for s in subjects]
    providers = {}
    for subject in subjects:
        cloud = subject.type.split(":", 1)[0]
        provider_type = next((t for t, c in PROVIDERS.items() if c == cloud), None)
        if provider_type and dig(subject.provider_props, "region") and provider_type not in providers:
            providers[provider_type] = Item(provider_type, "", plain(subject.provider_props))
    return [*providers.values(), *found]


def _ceiling(subjects: list[Subject], config) -> Iterable[tuple[Subject, str]]:
    cap = config["maxMonthlyUsd"]
    clusters = of_type(subjects, _CLUSTERS)
    if cap is None or not clusters:
        return
    ceiling = bill(items(subjects)).total("ceiling")
    if ceiling.unknown:
        yield clusters[0], f"the ceiling cannot be checked: no price for {', '.join(ceiling.unknown)}"
    elif ceiling.known > cap:
        yield clusters[0], f"the stack's ceiling is ${ceiling.known:,.0f} a month, over the ${cap:,.0f} allowed"


def _env(subject: Subject) -> str:
    own = dig(subject.props, "tags", "env") or dig(subject.props, "nodeConfig", "resourceLabels", "env")
    return str(own or "")


def _idle_gpus(subjects: list[Subject], config) -> Iterable[tuple[Subject, str]]:
    pools = of_type(subjects, _POOLS)
    if not any(_env(p) in config["environments"] for p in pools):
        return
    inv = inventory(items(subjects))
    for subject, spec in zip(pools, inv.pools, strict=True):
        gpus = round(spec.min_size * spec.gpus_per_node)
        if spec.gpu and gpus:
            yield subject, f"pool {spec.name} keeps {gpus} GPU(s) running when idle (minimum size {spec.min_size:g})"
    for cluster in of_type(subjects, (RAY_CLUSTER,)):
        for pool, gpus in standing_gpus(plain(cluster.props)).items():
            yield cluster, f"the RayCluster keeps {gpus} GPU(s) of pool {pool} running (worker minReplicas)"


POLICIES: list[Rule] = [
    stack_rule(
        name="stack-cost-ceiling",
        area="nodes",
        severity=Severity.MEDIUM,
        types=_CLUSTERS,
        reads=_PRICED,
        check=_ceiling,
        config=_CEILING_CONFIG,
        description="What the stack costs a month with every pool at its maximum stays within its ceiling.",
        remediation="Lower the pools' maxSize, use spot capacity, or raise maxMonthlyUsd in the stack's policy "
        "config after review.",
        controls=CONTROLS,
    ),
    stack_rule(
        name="dev-idle-floor-has-no-gpu",
        area="nodes",
        severity=Severity.MEDIUM,
        types=(*_POOLS, RAY_CLUSTER),
        reads=(*_PRICED,),
        check=_idle_gpus,
        config=_IDLE_CONFIG,
        description="A development stack's idle floor holds no GPU: GPU pools scale to zero and no RayCluster "
        "keeps GPU workers.",
        remediation="Set the GPU pools' minSize to 0 and the RayClusters' GPU worker minReplicas to 0.",
        controls=CONTROLS,
    ),
]
