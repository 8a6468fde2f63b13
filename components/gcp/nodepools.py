"""GKE node pools: shielded, Workload Identity metadata, GPUs with GKE-managed drivers, autoscaling from 0."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.nodes import PoolSpec
from components.options import child_options

_GKE_TAINT_EFFECT = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}


@dataclass(frozen=True)
class GkeNodePoolArgs:
    cluster: pulumi.Input[str]
    region: str
    zones: list[str]
    service_account: pulumi.Input[str]
    spec: PoolSpec
    machine_type: str
    accelerator: str | None
    spot: bool
    initial_size: int
    disk_size_gib: int
    labels: dict[str, str]


def guest_accelerators(
    accelerator: str | None, count: int
) -> list[gcp.container.NodePoolNodeConfigGuestAcceleratorArgs]:
    if accelerator is None:
        return []
    # GKE installs and upgrades the NVIDIA driver and runs its own device plugin on these nodes.
    driver = gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
        gpu_driver_version="LATEST"
    )
    return [
        gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
            type=accelerator, count=count, gpu_driver_installation_config=driver
        )
    ]


class GkeNodePool(pulumi.ComponentResource):
    node_pool: gcp.container.NodePool

    def __init__(
        self, name: str, args: GkeNodePoolArgs, *, provider: gcp.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rayplat:gcp:NodePool", name, None, opts)
        spec = args.spec
        self.node_pool = gcp.container.NodePool(
            name,
            # A prefix, not a name: a replacement pool can be created before the old one is deleted.
            name_prefix=f"{spec.name}-",
            cluster=args.cluster,
            location=args.region,
            node_locations=args.zones,
            # GKE counts the initial size per zone.
            initial_node_count=math.ceil(args.initial_size / len(args.zones)),
            # Bounds for the whole pool, across its zones (min 0 lets GPU pools scale to zero).
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=spec.min_size, total_max_node_count=spec.max_size, location_policy="ANY"
            ),
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=args.machine_type,
                disk_size_gb=args.disk_size_gib,
                disk_type="pd-balanced",
                service_account=args.service_account,
                oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                spot=args.spot,
                labels=spec.labels,
                taints=[
                    gcp.container.NodePoolNodeConfigTaintArgs(
                        key=t["key"], value=t["value"], effect=_GKE_TAINT_EFFECT[t["effect"]]
                    )
                    for t in spec.taints
                ],
                guest_accelerators=guest_accelerators(args.accelerator, spec.gpus_per_node),
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
                workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
                    mode="GKE_METADATA"
                ),
                metadata={"disable-legacy-endpoints": "true"},
                resource_labels=args.labels,
            ),
            # The cluster autoscaler owns the size once the pool exists.
            opts=pulumi.ResourceOptions.merge(
                child_options(self, provider, opts), pulumi.ResourceOptions(ignore_changes=["initialNodeCount"])
            ),
        )
        self.register_outputs({"node_pool": self.node_pool.name})
