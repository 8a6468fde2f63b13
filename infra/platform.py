"""The composition root: a validated config in, the cloud layer, the kubernetes layer, stack outputs out."""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from catalog import versions
from components.handle import CloudLayer
from components.kubernetes.platform import KubernetesPlatform, Monitoring, RayWorkloads
from components.kubernetes.teams import TeamWorkloads
from components.kubernetes.tenancy import GpuShare, TeamSpec
from infra.clouds import aws_cluster, existing_cluster, gcp_cluster
from infra.cost import cost_controls, cost_output, gpu_hourly_prices
from stackconfig.platform import PlatformConfig
from stackconfig.teams import TeamConfig

CLOUD_LAYERS: dict[str, Callable[[str, PlatformConfig], CloudLayer]] = {
    "aws": aws_cluster,
    "gcp": gcp_cluster,
    "existing": existing_cluster,
}


def team_workloads(team: TeamConfig) -> TeamWorkloads:
    shares = {pool: GpuShare(q.nominal, q.borrowing_limit, q.lending_limit) for pool, q in team.gpu_quota.items()}
    spec = TeamSpec(
        name=team.name,
        owner=team.owner,
        department=team.department,
        group=team.members.group,
        cpu=team.cpu,
        memory=team.memory,
        gpu_shares=shares,
    )
    cluster = team.ray_cluster
    return TeamWorkloads(
        spec,
        cluster.max_workers_per_pool if cluster else None,
        high_availability=cluster.high_availability if cluster else False,
    )


def build_platform(config: PlatformConfig) -> None:
    stack = pulumi.get_stack()
    cloud = CLOUD_LAYERS[config.cloud](stack, config)
    handle = cloud.handle
    kubernetes = KubernetesPlatform(
        f"{stack}-platform",
        handle,
        RayWorkloads(namespace=config.ray.namespace, service_account=config.ray.service_account),
        Monitoring(
            **config.observability.model_dump(),
            cluster_id=config.cluster_name(stack),
            gpu_hourly_usd=gpu_hourly_prices(config),
        ),
        [team_workloads(team) for team in config.teams],
        highly_available=config.protected,
    )

    cost_controls(stack, config, cloud)

    pulumi.export("cloud", config.cloud)
    for name, value in cloud.outputs.items():
        pulumi.export(name, value)
    pulumi.export("clusterName", handle.name)
    pulumi.export("artifactBucket", handle.object_store.bucket)
    pulumi.export("artifactBucketUri", handle.object_store.uri)
    pulumi.export("rayNamespace", config.ray.namespace)
    pulumi.export("rayServiceAccount", config.ray.service_account)
    pulumi.export("rayServiceAccountAnnotations", kubernetes.ray_service_account_annotations)
    pulumi.export("cost", cost_output(config))
    pulumi.export("kuberayVersion", versions.KUBERAY_VERSION)
    pulumi.export("rayVersion", versions.RAY_VERSION)
    pulumi.export(
        "gpuPools",
        {
            pool.name: {
                "instanceTypes": pool.instance_types,
                "gpuModel": pool.gpu_model,
                "gpusPerNode": pool.gpus_per_node,
                "minSize": pool.min_size,
                "maxSize": pool.max_size,
                "maxGpus": pool.max_gpus,
            }
            for pool in handle.gpu_pools
        },
    )
