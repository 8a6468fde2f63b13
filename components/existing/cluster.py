"""The existing-cluster layer: a kubeconfig context, the node pools already there, and an object store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.existing.objectstore import InClusterMinio, existing_secret_binder, secret_binder
from components.handle import ClusterHandle, GcsRedis, ObjectStore
from components.nodes import PoolSpec


@dataclass(frozen=True)
class MinioStore:
    """MinIO, installed in the cluster."""

    bucket: str
    storage_gib: int


@dataclass(frozen=True)
class S3Store:
    """An S3-compatible store that exists already, with a credentials Secret in the Ray namespace."""

    bucket: str
    endpoint: str
    region: str
    credentials_secret: str


@dataclass(frozen=True)
class ExistingClusterArgs:
    context: str
    kubeconfig: str | None
    system_pool: PoolSpec
    gpu_pools: list[PoolSpec]
    object_store: MinioStore | S3Store
    # False where the cluster already runs the NVIDIA device plugin (for example the GPU Operator).
    install_device_plugin: bool
    cost_labels: dict[str, str]
    # The Redis the config names for GCS fault tolerance, if any.
    gcs_redis: GcsRedis | None = None


class ExistingCluster(pulumi.ComponentResource):
    handle: ClusterHandle
    outputs: dict[str, pulumi.Input]

    def __init__(self, name: str, args: ExistingClusterArgs, *, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rayplat:existing:Cluster", name, None, opts)
        labels = args.cost_labels
        provider = k8s.Provider(
            f"{name}-k8s",
            context=args.context,
            kubeconfig=args.kubeconfig,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        store = args.object_store
        if isinstance(store, MinioStore):
            minio = InClusterMinio(
                f"{name}-minio",
                bucket=store.bucket,
                storage_gib=store.storage_gib,
                cost_labels=labels,
                provider=provider,
                opts=pulumi.ResourceOptions(parent=self),
            )
            bucket, endpoint, region = store.bucket, minio.endpoint, "us-east-1"
            binder = secret_binder(
                endpoint=minio.endpoint,
                access_key=minio.access_key,
                secret_key=minio.secret_key,
                provider=provider,
                parent=self,
            )
        else:
            bucket, endpoint, region = store.bucket, store.endpoint, store.region
            binder = existing_secret_binder(store.credentials_secret)
        self.handle = ClusterHandle(
            name=pulumi.Output.from_input(args.context),
            provider=provider,
            system_pool=args.system_pool,
            gpu_pools=args.gpu_pools,
            object_store=ObjectStore(
                bucket=pulumi.Output.from_input(bucket),
                uri=pulumi.Output.from_input(f"s3://{bucket}"),
                region=region,
                endpoint=endpoint,
            ),
            bind_identity=binder,
            cost_labels=labels,
            installs_device_plugin=args.install_device_plugin,
            gcs_redis=_configured(args.gcs_redis) if args.gcs_redis else None,
        )
        self.outputs = {"kubeContext": args.context, "objectStoreEndpoint": endpoint}
        self.register_outputs({"context": args.context})


def _configured(redis: GcsRedis) -> Callable[[str, str], GcsRedis]:
    """Every highly available team cluster uses the one Redis the config names."""
    return lambda _name, _team: redis
