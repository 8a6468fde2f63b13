"""The GCP cloud layer: everything up to a ClusterHandle the kubernetes layer can install onto."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.gcp.gke import GkeCluster, GkeClusterArgs
from components.gcp.identity import workload_identity_binder
from components.gcp.kms import SecretsKey, SecretsKeyArgs
from components.gcp.network import GcpNetwork, GcpNetworkArgs
from components.gcp.nodepools import GkeNodePool, GkeNodePoolArgs
from components.gcp.storage import GcsArtifactStore, GcsArtifactStoreArgs
from components.handle import ClusterHandle, ObjectStore
from components.pools import pool_specs
from components.tagging import cost_labels
from infra.config import PlatformConfig


class GcpCluster(pulumi.ComponentResource):
    handle: ClusterHandle
    outputs: dict[str, pulumi.Input]

    def __init__(self, name: str, config: PlatformConfig, *, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rayplat:gcp:Cluster", name, None, opts)
        settings = config.gcp_settings
        labels = config.cost_tags()
        cluster_name = config.cluster_name(pulumi.get_stack())
        provider = gcp.Provider(
            f"{name}-gcp",
            project=settings.project,
            region=settings.region,
            default_labels=labels,
            opts=pulumi.ResourceOptions(parent=self),
        )
        here = pulumi.ResourceOptions(parent=self)

        network = GcpNetwork(
            f"{name}-vpc",
            GcpNetworkArgs(
                region=settings.region,
                subnet_cidr=settings.network.subnet_cidr,
                pods_cidr=settings.network.pods_cidr,
                services_cidr=settings.network.services_cidr,
            ),
            provider=provider,
            opts=here,
        )
        endpoint = config.cluster.endpoint
        # Protected environments encrypt Kubernetes secrets with a key of their own (the parity of EKS
        # envelope encryption) and make same-node pod traffic visible to the VPC.
        secrets_key = None
        if config.protected:
            project = gcp.organizations.get_project_output(
                project_id=settings.project, opts=pulumi.InvokeOptions(provider=provider)
            )
            secrets_key = SecretsKey(
                f"{name}-secrets",
                SecretsKeyArgs(
                    cluster_name=cluster_name,
                    project=settings.project,
                    location=settings.region,
                    project_number=project.number,
                    labels=labels,
                    protect=config.protected,
                ),
                provider=provider,
                opts=here,
            )
        gke = GkeCluster(
            name,
            GkeClusterArgs(
                cluster_name=cluster_name,
                project=settings.project,
                region=settings.region,
                zones=settings.zones,
                network=network.network.id,
                subnetwork=network.subnetwork.id,
                master_cidr=settings.network.master_cidr,
                private_endpoint=endpoint.access == "private",
                authorized_cidrs=endpoint.public_cidrs,
                release_channel=settings.release_channel,
                labels=labels,
                protect=config.protected,
                rbac_security_group=settings.rbac_security_group,
                secrets_key=secrets_key.key.id if secrets_key else None,
                secrets_key_ready=secrets_key.grant if secrets_key else None,
                intranode_visibility=config.protected,
            ),
            provider=provider,
            opts=here,
        )

        system_spec, gpu_specs = pool_specs(config)
        pools = [
            GkeNodePool(
                f"{name}-{spec.name}",
                GkeNodePoolArgs(
                    cluster=gke.cluster.id,
                    region=settings.region,
                    zones=settings.zones,
                    service_account=gke.node_service_account.email,
                    spec=spec,
                    machine_type=pool.instance_types[0],
                    accelerator=accelerator,
                    spot=pool.capacity_type == "spot",
                    initial_size=pool.initial_size,
                    disk_size_gib=pool.disk_size_gib,
                    labels=labels,
                ),
                provider=provider,
                opts=here,
            )
            for spec, pool, accelerator in zip(
                [system_spec, *gpu_specs],
                [config.system_pool, *config.gpu_pools],
                [None, *(p.accelerator_type for p in config.gpu_pools)],
                strict=True,
            )
        ]

        storage = config.storage
        store = GcsArtifactStore(
            f"{name}-artifacts",
            GcsArtifactStoreArgs(
                bucket_name=storage.bucket_name,
                location=settings.region,
                force_destroy=storage.force_destroy,
                protect=config.protected,
                kms_key=settings.bucket_kms_key,
                noncurrent_version_expiration_days=storage.noncurrent_version_expiration_days,
                abort_incomplete_multipart_upload_days=storage.abort_incomplete_multipart_upload_days,
                labels=labels,
            ),
            provider=provider,
            opts=here,
        )

        k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=gke.kubeconfig,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gke.cluster]),
        )
        self.handle = ClusterHandle(
            name=gke.cluster.name,
            provider=k8s_provider,
            system_pool=system_spec,
            gpu_pools=gpu_specs,
            object_store=ObjectStore(
                bucket=store.bucket.name, uri=pulumi.Output.concat("gs://", store.bucket.name), region=settings.region
            ),
            bind_identity=workload_identity_binder(
                project=settings.project,
                workload_pool=gke.workload_pool,
                bucket=store.bucket.name,
                provider=provider,
                parent=self,
            ),
            cost_labels=cost_labels(labels),
            ready=[p.node_pool for p in pools],
            # GKE installs the NVIDIA driver and runs its own device plugin on GPU nodes.
            installs_device_plugin=False,
        )
        self.outputs = {
            "region": settings.region,
            "project": settings.project,
            "clusterEndpoint": gke.cluster.endpoint,
            "kubeconfig": gke.kubeconfig,
            "workloadPool": gke.workload_pool,
        }
        self.register_outputs({"cluster_name": gke.cluster.name})
