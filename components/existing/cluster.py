"""The existing-cluster layer: a kubeconfig context, the node pools already there, and an object store."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.existing.objectstore import InClusterMinio, existing_secret_binder, secret_binder
from components.handle import ClusterHandle, ObjectStore
from components.nodes import PoolSpec
from components.tagging import cost_labels
from infra.config import ExistingPool, PlatformConfig


def existing_pool_spec(pool: ExistingPool) -> PoolSpec:
    return PoolSpec(
        name=pool.name,
        labels=dict(pool.labels),
        node_selector=dict(pool.labels),
        taints=[{"key": t.key, "value": t.value, "effect": t.effect} for t in pool.taints],
        min_size=0,
        max_size=pool.max_nodes,
        gpu_model=pool.gpu_model,
        gpus_per_node=pool.gpus_per_node,
    )


class ExistingCluster(pulumi.ComponentResource):
    handle: ClusterHandle
    outputs: dict[str, pulumi.Input]

    def __init__(self, name: str, config: PlatformConfig, *, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rayplat:existing:Cluster", name, None, opts)
        settings = config.existing_settings
        labels = cost_labels(config.cost_tags())
        provider = k8s.Provider(
            f"{name}-k8s",
            context=settings.context,
            kubeconfig=settings.kubeconfig,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        store = settings.object_store
        if store.minio is not None:
            minio = InClusterMinio(
                f"{name}-minio",
                bucket=store.minio.bucket,
                storage_gib=store.minio.storage_gib,
                cost_labels=labels,
                provider=provider,
                opts=pulumi.ResourceOptions(parent=self),
            )
            bucket, endpoint, region = store.minio.bucket, minio.endpoint, "us-east-1"
            binder = secret_binder(
                endpoint=minio.endpoint,
                access_key=minio.access_key,
                secret_key=minio.secret_key,
                provider=provider,
                parent=self,
            )
        else:
            assert store.s3 is not None, "validated: exactly one of s3 or minio"
            bucket, endpoint, region = store.s3.bucket, store.s3.endpoint, store.s3.region
            binder = existing_secret_binder(store.s3.credentials_secret)
        self.handle = ClusterHandle(
            name=pulumi.Output.from_input(settings.context),
            provider=provider,
            system_pool=existing_pool_spec(settings.system_pool),
            gpu_pools=[existing_pool_spec(p) for p in settings.gpu_pools],
            object_store=ObjectStore(
                bucket=pulumi.Output.from_input(bucket),
                uri=pulumi.Output.from_input(f"s3://{bucket}"),
                region=region,
                endpoint=endpoint,
            ),
            bind_identity=binder,
            cost_labels=labels,
            installs_device_plugin=settings.install_device_plugin,
        )
        self.outputs = {"kubeContext": settings.context, "objectStoreEndpoint": endpoint}
        self.register_outputs({"context": settings.context})
