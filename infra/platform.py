"""The composition root: a validated config in, the cloud layer, the kubernetes layer, stack outputs out."""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from catalog import versions
from components.handle import CloudLayer
from components.kubernetes.platform import KubernetesPlatform, Monitoring, RayWorkloads
from components.kubernetes.rayservice import TeamServe
from components.kubernetes.teams import TeamWorkloads
from components.kubernetes.tenancy import GpuShare, TeamSpec
from components.kubernetes.tracking import MlflowTracking
from infra.access import sso_access
from infra.clouds import aws_cluster, existing_cluster, gcp_cluster
from infra.cost import cost_controls, cost_output, gpu_hourly_prices
from infra.tracking import tracking_args
from stackconfig.platform import PlatformConfig
from stackconfig.teams import TeamConfig

CLOUD_LAYERS: dict[str, Callable[[str, PlatformConfig], CloudLayer]] = {
    "aws": aws_cluster,
    "gcp": gcp_cluster,
    "existing": existing_cluster,
}


# The variable the wandb client reads its API key from.
WANDB_API_KEY = "WANDB_API_KEY"


def team_secret_env(team: TeamConfig) -> tuple[tuple[str, str, str], ...]:
    """The variables the team's Ray containers get from its own Secrets: (variable, Secret, key)."""
    if team.wandb is None:
        return ()
    secret = team.wandb.api_key_secret
    return ((WANDB_API_KEY, secret.name, secret.key),)


def team_workloads(team: TeamConfig, protect: bool) -> TeamWorkloads:
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
    serve = None
    if team.serve is not None:
        settings = team.serve
        serve = TeamServe(
            pool=settings.pool or next(iter(team.gpu_quota)),
            min_replicas=settings.min_replicas,
            max_replicas=settings.max_replicas,
            gpus_per_replica=settings.gpus_per_replica,
            import_path=settings.import_path,
            deployment=settings.deployment,
            code_archive=settings.code_archive,
        )
    cluster = team.ray_cluster
    ha = cluster.high_availability if cluster else None
    return TeamWorkloads(
        spec,
        cluster.max_workers_per_pool if cluster else None,
        high_availability=ha is not None,
        gcs_volume=ha.storage if ha and ha.backend == "rocksdb" else None,
        protect=protect,
        serve=serve,
        secret_env=team_secret_env(team),
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
        [team_workloads(team, config.protected) for team in config.teams],
        highly_available=config.protected,
    )

    cost_controls(stack, config, cloud)
    sso_access(stack, config, cloud, after=[kubernetes])
    if config.tracking.mlflow.enabled:
        # After the kubernetes layer: the team namespaces it creates get the tracking URI.
        tracking = MlflowTracking(
            f"{stack}-mlflow", tracking_args(config), handle, opts=pulumi.ResourceOptions(depends_on=[kubernetes])
        )
        pulumi.export("mlflowTrackingUri", tracking.uri)

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
    mirror = pulumi.Output.from_input(handle.image_mirror)
    pulumi.export("rayImageMirror", mirror)
    pulumi.export(
        "rayImages", mirror.apply(lambda m: {"cpu": versions.ray_image(False, m), "gpu": versions.ray_image(True, m)})
    )
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
