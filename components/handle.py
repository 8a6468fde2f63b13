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
    (a Redis the platform creates) or as the name and key of a Secret in the team's namespace (one it is given)."""

    address: pulumi.Input[str]
    password: pulumi.Output[str] | None = None
    password_secret: tuple[str, str] | None = None


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


class CloudLayer(Protocol):
    """What each cloud layer builds: the handle for the kubernetes layer, and its own stack outputs."""

    handle: ClusterHandle
    outputs: dict[str, pulumi.Input]
