"""Kueue, and each team's namespace, quotas, access, network policy, identity, queues and RayCluster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from catalog import versions
from components.handle import ClusterHandle
from components.helm import pinned_release
from components.kubernetes import manifests, tenancy
from components.kubernetes.kuberay import NAMESPACE as KUBERAY_NAMESPACE
from components.kubernetes.observability.stack import NAMESPACE as MONITORING_NAMESPACE
from components.kubernetes.raycluster import RayClusterSpec, ray_cluster
from components.kubernetes.rayservice import TeamServe, team_ray_service
from components.options import child_options

KUEUE_NAMESPACE = "kueue-system"
TEAM_SERVICE_ACCOUNT = "ray"


@dataclass(frozen=True)
class TeamWorkloads:
    team: tenancy.TeamSpec
    # A standing RayCluster for the team, with at most this many workers per GPU pool (None: no cluster).
    ray_cluster_max_workers: int | None = None
    # A Ray Serve application (a RayService) for the team (None: none).
    serve: TeamServe | None = None


def _apply(name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.Resource:
    """A Kubernetes object from its manifest, server-side applied by the provider."""
    kind, metadata = manifest["kind"], manifest["metadata"]
    simple = {
        "Namespace": lambda: k8s.core.v1.Namespace(name, metadata=metadata, opts=opts),
        "ResourceQuota": lambda: k8s.core.v1.ResourceQuota(name, metadata=metadata, spec=manifest["spec"], opts=opts),
        "LimitRange": lambda: k8s.core.v1.LimitRange(name, metadata=metadata, spec=manifest["spec"], opts=opts),
        "NetworkPolicy": lambda: k8s.networking.v1.NetworkPolicy(
            name, metadata=metadata, spec=manifest["spec"], opts=opts
        ),
        "RoleBinding": lambda: k8s.rbac.v1.RoleBinding(
            name, metadata=metadata, role_ref=manifest["roleRef"], subjects=manifest["subjects"], opts=opts
        ),
    }
    if kind in simple:
        return simple[kind]()
    return k8s.apiextensions.CustomResource(
        name, api_version=manifest["apiVersion"], kind=kind, metadata=metadata, spec=manifest["spec"], opts=opts
    )


class Kueue(pulumi.ComponentResource):
    """Kueue with the Ray integrations, and a ResourceFlavor per GPU pool."""

    release: pulumi.Resource

    def __init__(self, name: str, handle: ClusterHandle, *, prometheus: bool, opts: pulumi.ResourceOptions):
        super().__init__("rayplat:kubernetes:Kueue", name, None, opts)
        child = child_options(self, handle.provider, opts)
        namespace = k8s.core.v1.Namespace(
            name,
            metadata=manifests.namespace(KUEUE_NAMESPACE, handle.cost_labels, "restricted")["metadata"],
            opts=child,
        )
        self.release = pinned_release(
            name,
            versions.KUEUE,
            namespace=namespace.metadata.name,
            values=tenancy.kueue_values(handle.system_pool, prometheus),
            opts=child,
        )
        after = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.release]))
        for flavor in tenancy.resource_flavors(handle.gpu_pools):
            _apply(f"{name}-flavor-{flavor['metadata']['name']}", flavor, after)
        self.register_outputs({"version": versions.KUEUE.version})


class Team(pulumi.ComponentResource):
    def __init__(
        self, name: str, workloads: TeamWorkloads, handle: ClusterHandle, *, kueue: Kueue, opts: pulumi.ResourceOptions
    ):
        super().__init__("rayplat:kubernetes:Team", name, None, opts)
        team, pools = workloads.team, handle.gpu_pools
        child = child_options(self, handle.provider, opts)
        namespace = _apply(name, tenancy.team_namespace(team, handle.cost_labels), child)
        in_namespace = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace]))
        _apply(f"{name}-quota", tenancy.resource_quota(team, pools), in_namespace)
        _apply(f"{name}-limits", tenancy.limit_range(team), in_namespace)
        _apply(f"{name}-edit", tenancy.role_binding(team), in_namespace)
        for policy in tenancy.network_policies(team, MONITORING_NAMESPACE, KUBERAY_NAMESPACE):
            _apply(f"{name}-{policy['metadata']['name']}", policy, in_namespace)

        annotations = handle.bind_identity(
            f"{name}-ray",
            team.namespace,
            TEAM_SERVICE_ACCOUNT,
            prefix=f"teams/{team.name}/",
            opts=pulumi.ResourceOptions(depends_on=[namespace]),
        )
        labels = tenancy.team_labels(team, handle.cost_labels)
        account = k8s.core.v1.ServiceAccount(
            f"{name}-ray",
            metadata=annotations.apply(
                lambda a: manifests.service_account(TEAM_SERVICE_ACCOUNT, team.namespace, labels, a)["metadata"]
            ),
            opts=in_namespace,
        )

        queued = pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=[kueue.release]))
        _apply(f"{name}-cluster-queue", tenancy.cluster_queue(team, pools), queued)
        _apply(f"{name}-local-queue", tenancy.local_queue(team), queued)
        if workloads.ray_cluster_max_workers is not None:
            self._ray_cluster(
                name,
                workloads,
                handle,
                pulumi.ResourceOptions.merge(queued, pulumi.ResourceOptions(depends_on=[account])),
            )
        if workloads.serve is not None:
            self._ray_service(
                name,
                team,
                workloads.serve,
                handle,
                pulumi.ResourceOptions.merge(queued, pulumi.ResourceOptions(depends_on=[account])),
            )
        self.register_outputs({"namespace": team.namespace})

    def _ray_cluster(
        self, name: str, workloads: TeamWorkloads, handle: ClusterHandle, opts: pulumi.ResourceOptions
    ) -> None:
        team = workloads.team
        pools = [p for p in handle.gpu_pools if p.name in team.gpu_shares]
        storage = handle.object_store.uri.apply(lambda uri: f"{uri}/teams/{team.name}")
        manifest = storage.apply(
            lambda uri: ray_cluster(
                RayClusterSpec(
                    name=f"{team.name}-ray",
                    namespace=team.namespace,
                    service_account=TEAM_SERVICE_ACCOUNT,
                    queue=tenancy.LOCAL_QUEUE,
                    storage_uri=uri,
                    system_pool=handle.system_pool,
                    gpu_pools=pools,
                    max_workers_per_pool=workloads.ray_cluster_max_workers or 0,
                )
            )
        )
        k8s.apiextensions.CustomResource(
            f"{name}-ray-cluster",
            api_version="ray.io/v1",
            kind="RayCluster",
            metadata=manifest.apply(lambda m: m["metadata"]),
            spec=manifest.apply(lambda m: m["spec"]),
            opts=opts,
        )

    def _ray_service(
        self, name: str, team: tenancy.TeamSpec, serve: TeamServe, handle: ClusterHandle, opts: pulumi.ResourceOptions
    ) -> None:
        (pool,) = [p for p in handle.gpu_pools if p.name == serve.pool]

        def manifest(uri: str) -> dict[str, Any]:
            base = RayClusterSpec(
                name=team.name,
                namespace=team.namespace,
                service_account=TEAM_SERVICE_ACCOUNT,
                queue=tenancy.LOCAL_QUEUE,
                storage_uri=f"{uri}/teams/{team.name}",
                system_pool=handle.system_pool,
                gpu_pools=[pool],
                max_workers_per_pool=1,
            )
            return team_ray_service(base, pool, serve)

        service = handle.object_store.uri.apply(manifest)
        k8s.apiextensions.CustomResource(
            f"{name}-ray-service",
            api_version="ray.io/v1",
            kind="RayService",
            metadata=service.apply(lambda m: m["metadata"]),
            spec=service.apply(lambda m: m["spec"]),
            opts=opts,
        )
