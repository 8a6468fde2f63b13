"""The contract between a cloud layer and the cloud-neutral kubernetes layer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
import pulumi_kubernetes as k8s

from components.nodes import PoolSpec


class IdentityBinder(Protocol):
    """Creates a cloud identity for one Kubernetes service account and returns the annotations that bind
    the service account to it. ``prefix`` limits object-store access to keys under that prefix; ``opts``
    (depends_on the namespace, say) apply to what the binding creates."""

    def __call__(
        self,
        name: str,
        namespace: str,
        service_account: str,
        *,
        prefix: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> pulumi.Output[dict[str, str]]: ...


@dataclass(frozen=True)
class ObjectStore:
    bucket: pulumi.Output[str]
    uri: pulumi.Output[str]
    region: str
    # For S3-compatible stores outside AWS: the endpoint clients must use.
    endpoint: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class GcsRedis:
    """Where a Ray head keeps its GCS state: a Redis address, and its password as a value to put into a Secret
    (a Redis the platform creates) or as the name and key of a Secret in the team's namespace (one it is given).
    What the head verifies the server's TLS certificate with: a CA bundle of the Ray image (``ca_file``) or
    the server's CA in PEM (``ca_pem``, put into a ConfigMap); ``server_name``: the certificate's DNS name.
    ``host``: the server's IP address where it is stable (Memorystore), so that every other team's namespace
    can be kept from it by NetworkPolicy."""

    address: pulumi.Input[str]
    password: pulumi.Output[str] | None = None
    password_secret: tuple[str, str] | None = None
    ca_file: str | None = None
    ca_pem: pulumi.Output[str] | None = None
    server_name: pulumi.Input[str] | None = None
    host: pulumi.Output[str] | None = None


@dataclass(frozen=True)
class IngressSupport:
    """The ingress controller that serves the platform's Ingresses: its class, the annotations each Ingress
    needs from it, the TLS Secret it terminates HTTPS with (None where the load balancer holds the
    certificate), and what must run before an Ingress is admitted (the controller and its webhook)."""

    class_name: str
    annotations: dict[str, str] = field(default_factory=dict)
    tls_secret: str | None = None
    ready: list[pulumi.Resource] = field(default_factory=list)


@dataclass(frozen=True)
class PostgresSpec:
    """The managed PostgreSQL the platform asks a cloud layer for: its database's name, and its size."""

    database: str
    instance_class: str
    storage_gib: int
    backup_retention_days: int


@dataclass(frozen=True)
class Postgres:
    """A PostgreSQL database reachable from the cluster: where it is, and the credentials of its one user.
    ``password`` is a Pulumi secret, only ever written into a Kubernetes Secret."""

    host: pulumi.Input[str]
    port: int
    database: str
    user: str
    password: pulumi.Output[str]
    # Connections must use TLS (the managed databases refuse others).
    require_tls: bool = True
    # What must exist before clients connect (the instance, its database and user).
    ready: list[pulumi.Resource] = field(default_factory=list)


@dataclass(frozen=True)
class ClusterHandle:
    name: pulumi.Output[str]
    provider: k8s.Provider
    system_pool: PoolSpec
    gpu_pools: list[PoolSpec]
    object_store: ObjectStore
    bind_identity: IdentityBinder
    cost_labels: dict[str, str]
    # Resources that must exist before workloads are installed (node groups, core add-ons).
    ready: list[pulumi.Resource] = field(default_factory=list)
    # False where the platform under the cluster already runs the NVIDIA device plugin (GKE).
    installs_device_plugin: bool = True
    # The GPU pools are Karpenter NodePools (AWS): monitored and alerted on through Karpenter's metrics.
    karpenter: bool = False
    # Where the cloud offers a managed Prometheus: (namespace, service account) -> the remote-write
    # entry for Prometheus and the annotations its service account needs.
    managed_prometheus: Callable[[str, str], pulumi.Output[dict[str, Any]]] | None = None
    # Where the cloud (or the config) offers a Redis for GCS fault tolerance: (name, team) -> its Redis.
    gcs_redis: Callable[[str, str], GcsRedis] | None = None
    # Where the cloud offers a StorageClass whose volumes are encrypted and retained (reclaimPolicy Retain):
    # () -> its name and what a claim of it waits for (KubeRay's RocksDB GCS store lives on such a volume).
    retained_storage_class: Callable[[], tuple[pulumi.Input[str], list[pulumi.Resource]]] | None = None
    # Where the cloud layer installs an ingress controller (the AWS Load Balancer Controller): how to use it.
    ingress: IngressSupport | None = None
    # The registry path the cloud mirrors Docker Hub under (a pull-through cache), or None: Docker Hub itself.
    image_mirror: pulumi.Output[str] | None = None
    # Where the cloud offers a managed PostgreSQL (RDS, Cloud SQL): (name, size) -> the database.
    postgres: Callable[[str, PostgresSpec], Postgres] | None = None


class CloudLayer(Protocol):
    """What each cloud layer builds: the handle for the kubernetes layer, and its own stack outputs."""

    handle: ClusterHandle
    outputs: dict[str, pulumi.Input]
