"""The GCP cloud layer: everything up to a ClusterHandle the kubernetes layer can install onto."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from catalog.tagging import cost_labels
from components.gcp.gke import GkeCluster, GkeClusterArgs
from components.gcp.identity import workload_identity_binder
from components.gcp.kms import SecretsKey, SecretsKeyArgs
from components.gcp.network import GcpNetwork, GcpNetworkArgs
from components.gcp.nodepools import GkeNodePool, GkeNodePoolArgs
from components.gcp.storage import GcsArtifactStore, GcsArtifactStoreArgs
from components.handle import ClusterHandle, ObjectStore
from components.nodes import ManagedPool


@dataclass(frozen=True)
class GcpClusterArgs:
    cluster_name: str
    project: str
    region: str
    zones: list[str]
    network: GcpNetworkArgs
    master_cidr: str
    private_endpoint: bool
    authorized_cidrs: list[str]
    release_channel: str
    rbac_security_group: str | None
    # Protected environments keep their stateful resources, encrypt Kubernetes secrets with a key of their
    # own (the parity of EKS envelope encryption) and make same-node pod traffic visible to the VPC.
    protect: bool
    system_pool: ManagedPool
    gpu_pools: list[ManagedPool]
    storage: GcsArtifactStoreArgs
    labels: dict[str, str]


class GcpCluster(pulumi.ComponentResource):
    handle: ClusterHandle
    outputs: dict[str, pulumi.Input]
    provider: gcp.Provider

    def __init__(self, name: str, args: GcpClusterArgs, *, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rayplat:gcp:Cluster", name, None, opts)
        labels, cluster_name = args.labels, args.cluster_name
        provider = gcp.Provider(
            f"{name}-gcp",
            project=args.project,
            region=args.region,
            default_labels=labels,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.provider = provider
        here = pulumi.ResourceOptions(parent=self)

        network = GcpNetwork(f"{name}-vpc", args.network, provider=provider, opts=here)
        secrets_key = None
        if args.protect:
            project = gcp.organizations.get_project_output(
                project_id=args.project, opts=pulumi.InvokeOptions(provider=provider)
            )
            secrets_key = SecretsKey(
                f"{name}-secrets",
                SecretsKeyArgs(
                    cluster_name=cluster_name,
                    project=args.project,
                    location=args.region,
                    project_number=project.number,
                    labels=labels,
                    protect=args.protect,
                ),
                provider=provider,
                opts=here,
            )
        gke = GkeCluster(
            name,
            GkeClusterArgs(
                cluster_name=cluster_name,
                project=args.project,
                region=args.region,
                zones=args.zones,
                network=network.network.id,
                subnetwork=network.subnetwork.id,
                master_cidr=args.master_cidr,
                private_endpoint=args.private_endpoint,
                authorized_cidrs=args.authorized_cidrs,
                release_channel=args.release_channel,
                labels=labels,
                protect=args.protect,
                rbac_security_group=args.rbac_security_group,
                secrets_key=secrets_key.key.id if secrets_key else None,
                secrets_key_ready=secrets_key.grant if secrets_key else None,
                intranode_visibility=args.protect,
            ),
            provider=provider,
            opts=here,
        )

        system_spec, gpu_specs = args.system_pool.spec, [p.spec for p in args.gpu_pools]
        pools = [
            GkeNodePool(
                f"{name}-{pool.spec.name}",
                GkeNodePoolArgs(
                    cluster=gke.cluster.id,
                    region=args.region,
                    zones=args.zones,
                    service_account=gke.node_service_account.email,
                    spec=pool.spec,
                    machine_type=pool.spec.instance_types[0],
                    accelerator=pool.accelerator,
                    spot=pool.spot,
                    initial_size=pool.initial_size,
                    disk_size_gib=pool.disk_size_gib,
                    labels=labels,
                ),
                provider=provider,
                opts=here,
            )
            for pool in [args.system_pool, *args.gpu_pools]
        ]

        store = GcsArtifactStore(f"{name}-artifacts", args.storage, provider=provider, opts=here)

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
                bucket=store.bucket.name, uri=pulumi.Output.concat("gs://", store.bucket.name), region=args.region
            ),
            bind_identity=workload_identity_binder(
                project=args.project,
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
            "region": args.region,
            "project": args.project,
            "clusterEndpoint": gke.cluster.endpoint,
            "kubeconfig": gke.kubeconfig,
            "workloadPool": gke.workload_pool,
        }
        self.register_outputs({"cluster_name": gke.cluster.name})
