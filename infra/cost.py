"""The stack's cost figures from its config (the same inventory the plan's resources give the cost model, so
that the stack outputs and `rayplat cost` agree: a test holds them to it), and the budgets that watch the bill."""

from __future__ import annotations

from typing import Any

from catalog.cost import Bill, Inventory, Pool, attached_accelerators, headline, price
from catalog.prices import HOURS_PER_MONTH
from catalog.tagging import REQUIRED_COST_TAGS
from components.aws.cluster import AwsCluster
from components.aws.costs import CostControls, CostControlsArgs
from components.gcp.budget import GcpBudget, GcpBudgetArgs
from components.gcp.cluster import GcpCluster
from components.handle import CloudLayer
from components.nodes import ManagedPool
from infra.pools import managed_pools
from stackconfig.platform import PlatformConfig


def _pool(pool: ManagedPool, gpu: bool) -> Pool:
    types = tuple(pool.spec.instance_types)
    attached = ((pool.accelerator, pool.spec.gpus_per_node),) if pool.accelerator else ()
    return Pool(
        name=pool.spec.name,
        gpu=gpu,
        instance_types=types,
        spot=pool.spot,
        min_size=pool.spec.min_size,
        max_size=pool.spec.max_size,
        disk_gib=pool.disk_size_gib,
        accelerators=attached_accelerators(types[0], attached) if types else attached,
        gpus_per_node=pool.spec.gpus_per_node if gpu else 0,
    )


def inventory_of(config: PlatformConfig) -> Inventory:
    if config.cloud == "existing":
        return Inventory("existing", "", 0, 0, 0, 0.0, ())
    system, gpu_pools = managed_pools(config)
    if config.cloud == "aws":
        network = config.aws_network
        region = config.aws_settings.region
        nats = 0 if network.existing is not None else (len(network.availability_zones) if network.nat_per_az else 1)
    else:
        region, nats = config.gcp_settings.region, 1
    return Inventory(
        cloud=config.cloud,
        region=region,
        clusters=1,
        nat_gateways=nats,
        buckets=1,
        prometheus_gib=config.observability.storage_gib if config.observability.enabled else 0.0,
        pools=(_pool(system, gpu=False), *(_pool(p, gpu=True) for p in gpu_pools)),
    )


def stack_bill(config: PlatformConfig) -> Bill:
    return price(inventory_of(config), config.costs.object_store_gb)


def gpu_hourly_prices(config: PlatformConfig) -> dict[str, float]:
    """Each priced GPU pool's node price per GPU-hour, for the recording rule that prices idle GPUs."""
    return {
        line.pool: line.unit_monthly / HOURS_PER_MONTH / line.gpus_per_unit
        for line in stack_bill(config).lines
        if line.gpus_per_unit and line.unit_monthly is not None
    }


def cost_output(config: PlatformConfig) -> dict[str, Any]:
    """The `cost` stack output: floor, expected and ceiling a month, as `rayplat cost` reports them."""
    return headline(stack_bill(config), config.costs.utilisation)


# The cost tags whose values together tell one stack's costs apart from the others'.
STACK_COST_TAGS = ("app", "env")


def cost_controls(stack: str, config: PlatformConfig, cloud: CloudLayer) -> None:
    """The budget (and, on AWS, anomaly detection and cost allocation tags) watching the stack's real bill."""
    budget = config.costs.budget
    limit = budget.monthly_usd or stack_bill(config).total("ceiling").known
    if not budget.enabled or not limit:
        return
    tags = config.cost_tags()
    name = config.cluster_name(stack)
    if isinstance(cloud, AwsCluster):
        args = CostControlsArgs(
            name=name,
            monthly_usd=limit,
            actual_threshold_percent=budget.actual_threshold_percent,
            forecast_threshold_percent=budget.forecast_threshold_percent,
            emails=list(budget.emails),
            anomaly_threshold_usd=budget.anomaly_threshold_usd,
            stack_tags={key: tags[key] for key in STACK_COST_TAGS},
            allocation_tag_keys=list(REQUIRED_COST_TAGS) if budget.activate_cost_allocation_tags else [],
            admin_role_arn=config.admin_role_arn,
            protect=config.protected,
            tags=tags,
        )
        CostControls(f"{stack}-costs", args, provider=cloud.provider, account=cloud.account)
    elif isinstance(cloud, GcpCluster) and budget.billing_account:
        gcp_args = GcpBudgetArgs(
            name=name,
            billing_account=budget.billing_account,
            monthly_usd=limit,
            actual_threshold_percent=budget.actual_threshold_percent,
            forecast_threshold_percent=budget.forecast_threshold_percent,
            emails=list(budget.emails),
            label=("env", tags["env"]),
        )
        GcpBudget(f"{stack}-costs", gcp_args, provider=cloud.provider)
