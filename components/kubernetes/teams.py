"""Kueue, and each team's namespace, quotas, access, network policy, identity, queues and RayCluster."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from catalog import versions
from components.handle import ClusterHandle, GcsRedis
from components.helm import pinned_release
from components.kubernetes import manifests, tenancy
from components.kubernetes.custom import custom_resource
from components.kubernetes.kuberay import NAMESPACE as KUBERAY_NAMESPACE
from components.kubernetes.observability.stack import NAMESPACE as MONITORING_NAMESPACE
from components.kubernetes.raycluster import (
    AUTH_TOKEN_KEY,
    REDIS_CA_KEY,
    GcsStore,
    GcsVolume,
    RayClusterSpec,
    auth_secret_name,
    ray_cluster,
)
from components.kubernetes.rayservice import TeamServe, team_ray_service
from components.options import child_options

KUEUE_NAMESPACE = "kueue-system"
TEAM_SERVICE_ACCOUNT = "ray"


def team_cluster_name(team: str) -> str:
    """The team's standing RayCluster; its token Secret holds the team's Ray token."""
    return f"{team}-ray"


def team_token_secret(team: str) -> str:
    """The Secret holding the Ray token of the team's clusters (standing and serving)."""
    return auth_secret_name(team_cluster_name(team))


@dataclass(frozen=True)
class TeamWorkloads:
    team: tenancy.TeamSpec
    # A standing RayCluster for the team, with at most this many workers per GPU pool (None: no cluster).
    ray_cluster_max_workers: int | None = None
    # GCS fault tolerance for that cluster: in the Redis the cluster handle offers, or (``gcs_volume``, a size)
    # in KubeRay's embedded RocksDB on a retained volume of the handle's retained StorageClass.
    high_availability: bool = False
    gcs_volume: str | None = None
    # Protected environments keep the GCS volume: `pulumi up` refuses to delete or replace its claim.
    protect: bool = False
    # A Ray Serve application (a RayService) for the team (None: none).
    serve: TeamServe | None = None
    # Variables the team's Ray containers get from its own Secrets: (variable, Secret, key).
    secret_env: tuple[tuple[str, str, str], ...] = ()


def team_component_name(prefix: str, team: str) -> str:
    return f"{prefix}-team-{team}"


def _has_redis(workloads: TeamWorkloads) -> bool:
    has_cluster = workloads.ray_cluster_max_workers is not None
    return has_cluster and workloads.high_availability and workloads.gcs_volume is None


def gcs_stores(prefix: str, teams: list[TeamWorkloads], handle: ClusterHandle) -> dict[str, GcsRedis]:
    """The Redis of each highly available team cluster that keeps its GCS state in one, by team: created before
    any team, since each team's namespace is kept from the others' stores."""
    wanted = [w.team.name for w in teams if _has_redis(w)]
    create = handle.gcs_redis
    if not wanted:
        return {}
    if create is None:
        raise ValueError("highAvailability: this cluster offers no Redis for GCS fault tolerance")
    return {team: create(f"{team_component_name(prefix, team)}-gcs", team) for team in wanted}


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
        "Role": lambda: k8s.rbac.v1.Role(name, metadata=metadata, rules=manifest["rules"], opts=opts),
    }
    if kind in simple:
        return simple[kind]()
    return custom_resource(name, manifest, opts)


class Kueue(pulumi.ComponentResource):
    """Kueue with the Ray integrations, and a ResourceFlavor per GPU pool."""

    release: pulumi.Resource

    def __init__(
        self, name: str, handle: ClusterHandle, *, prometheus: bool, replicas: int = 1, opts: pulumi.ResourceOptions
    ):
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
            values=tenancy.kueue_values(handle.system_pool, prometheus, replicas),
            opts=child,
        )
        after = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.release]))
        for flavor in tenancy.resource_flavors(handle.gpu_pools):
            _apply(f"{name}-flavor-{flavor['metadata']['name']}", flavor, after)
        self.register_outputs({"version": versions.KUEUE.version})


class Team(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        workloads: TeamWorkloads,
        handle: ClusterHandle,
        *,
        kueue: Kueue,
        opts: pulumi.ResourceOptions,
        stores: Mapping[str, GcsRedis] | None = None,
    ):
        """``stores``: every team's GCS Redis (from :func:`gcs_stores`); the team uses its own and its
        namespace is kept from the others' where their addresses are stable. A highly available team
        cluster needs its own there."""
        super().__init__("rayplat:kubernetes:Team", name, None, opts)
        self._stores = stores or {}
        team, pools = workloads.team, handle.gpu_pools
        child = child_options(self, handle.provider, opts)
        namespace = _apply(name, tenancy.team_namespace(team, handle.cost_labels), child)
        in_namespace = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace]))
        _apply(f"{name}-quota", tenancy.resource_quota(team, pools), in_namespace)
        _apply(f"{name}-limits", tenancy.limit_range(team), in_namespace)
        _apply(f"{name}-edit", tenancy.role_binding(team), in_namespace)
        for policy in tenancy.network_policies(team, MONITORING_NAMESPACE, KUBERAY_NAMESPACE):
            _apply(f"{name}-{policy['metadata']['name']}", policy, in_namespace)
        self._store_isolation(name, team, in_namespace)

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
        if workloads.ray_cluster_max_workers is not None or workloads.serve is not None:
            ray_opts = pulumi.ResourceOptions.merge(queued, pulumi.ResourceOptions(depends_on=[account]))
            self._ray_clusters(name, workloads, handle, ray_opts)
        self.register_outputs({"namespace": team.namespace})

    def _store_isolation(self, name: str, team: tenancy.TeamSpec, opts: pulumi.ResourceOptions) -> None:
        """Where other teams' stores have stable addresses, the team's pods may not reach them."""
        foreign = [s.host for t, s in sorted(self._stores.items()) if t != team.name and s.host is not None]
        if not foreign:
            return
        policy = pulumi.Output.all(*foreign).apply(lambda hosts: tenancy.store_isolation(team, list(hosts)))
        k8s.networking.v1.NetworkPolicy(
            f"{name}-{tenancy.STORE_ISOLATION_POLICY}",
            metadata=policy.apply(lambda p: p["metadata"]),
            spec=policy.apply(lambda p: p["spec"]),
            opts=opts,
        )

    def _ray_clusters(
        self, name: str, workloads: TeamWorkloads, handle: ClusterHandle, opts: pulumi.ResourceOptions
    ) -> None:
        """The team's standing cluster and its RayService, which share one Ray token (the one `rayplat connect`
        fetches)."""
        team = workloads.team
        token = self._auth_token(name, team, team_token_secret(team.name), opts)
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[token]))
        if workloads.ray_cluster_max_workers is not None:
            self._ray_cluster(name, workloads, handle, opts)
        if workloads.serve is not None:
            self._ray_service(name, workloads, workloads.serve, handle, opts)

    def _ray_cluster(
        self, name: str, workloads: TeamWorkloads, handle: ClusterHandle, opts: pulumi.ResourceOptions
    ) -> None:
        team = workloads.team
        pools = [p for p in handle.gpu_pools if p.name in team.gpu_shares]
        cluster_name = team_cluster_name(team.name)
        gcs: tuple[pulumi.Output[Any], list[pulumi.Resource]] | None = None
        if workloads.gcs_volume is not None:
            gcs = self._gcs_volume(name, workloads, workloads.gcs_volume, handle, cluster_name, opts)
        elif workloads.high_availability:
            gcs = self._gcs_store(name, workloads, self._stores.get(team.name), cluster_name, opts)
        if gcs is not None:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=gcs[1]))
        storage = handle.object_store.uri.apply(lambda uri: f"{uri}/teams/{team.name}")
        manifest = pulumi.Output.all(storage, gcs[0] if gcs else None, handle.image_mirror).apply(
            lambda v: ray_cluster(
                RayClusterSpec(
                    name=cluster_name,
                    namespace=team.namespace,
                    service_account=TEAM_SERVICE_ACCOUNT,
                    queue=tenancy.LOCAL_QUEUE,
                    storage_uri=v[0],
                    system_pool=handle.system_pool,
                    gpu_pools=pools,
                    max_workers_per_pool=workloads.ray_cluster_max_workers or 0,
                    gcs=v[1],
                    image_mirror=v[2],
                    secret_env=workloads.secret_env,
                )
            )
        )
        # Evicting the head ends every job on the cluster (and, without GCS fault tolerance, its state).
        budget = manifests.disruption_budget(
            f"{cluster_name}-head", team.namespace, {"ray.io/cluster": cluster_name, "ray.io/node-type": "head"}
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-ray-head-pdb", metadata=budget["metadata"], spec=budget["spec"], opts=opts
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
        self, name: str, workloads: TeamWorkloads, serve: TeamServe, handle: ClusterHandle, opts: pulumi.ResourceOptions
    ) -> None:
        team = workloads.team
        (pool,) = [p for p in handle.gpu_pools if p.name == serve.pool]

        def manifest(uri: str, mirror: str | None) -> dict[str, Any]:
            base = RayClusterSpec(
                name=team.name,
                namespace=team.namespace,
                service_account=TEAM_SERVICE_ACCOUNT,
                queue=tenancy.LOCAL_QUEUE,
                storage_uri=f"{uri}/teams/{team.name}",
                system_pool=handle.system_pool,
                gpu_pools=[pool],
                max_workers_per_pool=1,
                token_secret=team_token_secret(team.name),
                image_mirror=mirror,
                secret_env=workloads.secret_env,
            )
            return team_ray_service(base, pool, serve)

        service = pulumi.Output.all(handle.object_store.uri, handle.image_mirror).apply(lambda v: manifest(*v))
        k8s.apiextensions.CustomResource(
            f"{name}-ray-service",
            api_version="ray.io/v1",
            kind="RayService",
            metadata=service.apply(lambda m: m["metadata"]),
            spec=service.apply(lambda m: m["spec"]),
            opts=opts,
        )

    def _auth_token(
        self, name: str, team: tenancy.TeamSpec, secret: str, opts: pulumi.ResourceOptions
    ) -> k8s.core.v1.Secret:
        """The cluster's Ray token, generated into a Secret only the team's group (and the platform's admins)
        can read; in the state it is a Pulumi secret, never a stack output."""
        token = random.RandomPassword(
            f"{name}-ray-token", length=48, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        created = k8s.core.v1.Secret(
            f"{name}-ray-token",
            metadata={"name": secret, "namespace": team.namespace},
            string_data={AUTH_TOKEN_KEY: token.result},
            opts=opts,
        )
        for manifest in tenancy.secret_readers(team, secret):
            _apply(f"{name}-ray-token-{manifest['kind'].lower()}", manifest, opts)
        return created

    def _gcs_volume(
        self,
        name: str,
        workloads: TeamWorkloads,
        size: str,
        handle: ClusterHandle,
        cluster: str,
        opts: pulumi.ResourceOptions,
    ) -> tuple[pulumi.Output[GcsVolume], list[pulumi.Resource]]:
        """The claim of the cluster's RocksDB GCS store: encrypted and retained by its StorageClass, kept by
        Pulumi in protected environments; the cluster waits for it."""
        if handle.retained_storage_class is None:
            raise ValueError("highAvailability: this cluster offers no retained StorageClass for the RocksDB backend")
        storage_class, ready = handle.retained_storage_class()
        team, claim = workloads.team, f"{cluster}-gcs"
        kept = pulumi.ResourceOptions(protect=workloads.protect, retain_on_delete=workloads.protect, depends_on=ready)
        volume = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-gcs",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=claim, namespace=team.namespace, labels=tenancy.team_labels(team, handle.cost_labels)
            ),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"],
                storage_class_name=storage_class,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": size}),
            ),
            opts=pulumi.ResourceOptions.merge(opts, kept),
        )
        return pulumi.Output.from_input(GcsVolume(claim)), [volume]

    def _gcs_store(
        self, name: str, workloads: TeamWorkloads, redis: GcsRedis | None, cluster: str, opts: pulumi.ResourceOptions
    ) -> tuple[pulumi.Output[GcsStore], list[pulumi.Resource]]:
        """The cluster's GCS store (the Redis address, the Secret in the team's namespace that holds its
        password, the CA its certificate is verified with), and what the cluster waits for (that Secret and
        the CA's ConfigMap, where the platform creates them)."""
        if redis is None:
            raise ValueError("highAvailability: this cluster offers no Redis for GCS fault tolerance")
        namespace, created = workloads.team.namespace, list[pulumi.Resource]()
        password_secret = redis.password_secret or (f"{cluster}-gcs-redis", "password")
        if redis.password_secret is None:
            assert redis.password is not None, "a Redis the platform creates has its password"
            created.append(
                k8s.core.v1.Secret(
                    f"{name}-gcs-redis",
                    metadata={"name": password_secret[0], "namespace": namespace},
                    string_data={password_secret[1]: redis.password},
                    opts=opts,
                )
            )
        ca_config_map: str | None = None
        if redis.ca_pem is not None:
            ca_config_map = f"{cluster}-gcs-redis-ca"
            created.append(
                k8s.core.v1.ConfigMap(
                    f"{name}-gcs-redis-ca",
                    metadata={"name": ca_config_map, "namespace": namespace},
                    data={REDIS_CA_KEY: redis.ca_pem},
                    opts=opts,
                )
            )
        store = pulumi.Output.all(redis.address, redis.server_name).apply(
            lambda v: GcsStore(v[0], *password_secret, redis.ca_file, ca_config_map, v[1])
        )
        return store, created
