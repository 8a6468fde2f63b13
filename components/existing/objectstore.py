"""Object storage for an existing cluster: an S3-compatible endpoint it already has, or MinIO installed in it.

There is no cloud identity to bind to a service account here: a binding is a Secret in the workload's
namespace holding the store's credentials, named in the service account's annotation.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from catalog import versions
from components.handle import IdentityBinder
from components.helm import pinned_release
from components.kubernetes import manifests
from components.options import child_options

CREDENTIALS_ANNOTATION = "rayplat.io/object-store-secret"
MINIO_NAMESPACE = "minio"


def minio_values(bucket: str, storage_gib: int, secret: str) -> dict:
    return {
        "mode": "standalone",
        "image": {"tag": versions.MINIO_IMAGE_TAG},
        "existingSecret": secret,
        "persistence": {"enabled": True, "size": f"{storage_gib}Gi"},
        "buckets": [{"name": bucket, "policy": "none", "versioning": True}],
        "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
        "service": {"type": "ClusterIP"},
        "consoleService": {"type": "ClusterIP"},
    }


class InClusterMinio(pulumi.ComponentResource):
    """MinIO with generated root credentials, reachable inside the cluster only."""

    endpoint: str
    access_key: pulumi.Output[str]
    secret_key: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        bucket: str,
        storage_gib: int,
        cost_labels: dict[str, str],
        provider: k8s.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rayplat:existing:Minio", name, None, opts)
        child = child_options(self, provider, opts)
        password = random.RandomPassword(
            f"{name}-root", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        namespace = k8s.core.v1.Namespace(
            name, metadata=manifests.namespace(MINIO_NAMESPACE, cost_labels, "baseline")["metadata"], opts=child
        )
        secret = k8s.core.v1.Secret(
            f"{name}-root",
            metadata={"name": "minio-root", "namespace": namespace.metadata.name},
            string_data={"rootUser": "rayplat", "rootPassword": password.result},
            opts=child,
        )
        pinned_release(
            name,
            versions.MINIO,
            namespace=namespace.metadata.name,
            values=minio_values(bucket, storage_gib, "minio-root"),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[secret])),
        )
        self.endpoint = f"http://minio.{MINIO_NAMESPACE}.svc.cluster.local:9000"
        self.access_key = pulumi.Output.from_input("rayplat")
        self.secret_key = password.result
        self.register_outputs({"endpoint": self.endpoint})


def secret_binder(
    *,
    endpoint: str,
    access_key: pulumi.Input[str],
    secret_key: pulumi.Input[str],
    provider: k8s.Provider,
    parent: pulumi.Resource,
) -> IdentityBinder:
    """An IdentityBinder that gives a service account's namespace a Secret with the store's credentials."""

    def bind(
        name: str,
        namespace: str,
        service_account: str,
        *,
        prefix: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> pulumi.Output[dict[str, str]]:
        secret_name = f"{service_account}-object-store"
        k8s.core.v1.Secret(
            name,
            metadata={"name": secret_name, "namespace": namespace},
            string_data={
                "AWS_ACCESS_KEY_ID": access_key,
                "AWS_SECRET_ACCESS_KEY": secret_key,
                "AWS_ENDPOINT_URL": endpoint,
                **({"RAYPLAT_OBJECT_PREFIX": prefix} if prefix else {}),
            },
            opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=parent, provider=provider), opts),
        )
        return pulumi.Output.from_input({CREDENTIALS_ANNOTATION: secret_name})

    return bind


def existing_secret_binder(secret_name: str) -> IdentityBinder:
    """An IdentityBinder for a store whose credentials Secret the cluster's owners already created."""

    def bind(
        name: str,
        namespace: str,
        service_account: str,
        *,
        prefix: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> pulumi.Output[dict[str, str]]:
        return pulumi.Output.from_input({CREDENTIALS_ANNOTATION: secret_name})

    return bind
