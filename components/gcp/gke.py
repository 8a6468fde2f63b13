"""GKE Standard, VPC-native, private nodes, Workload Identity, shielded nodes, a least-privilege node identity,
NetworkPolicy enforced by Dataplane V2, and Google Groups for RBAC."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.gcp.network import PODS_RANGE, SERVICES_RANGE
from components.kubeconfig import exec_kubeconfig
from components.options import child_options, require

# What GKE nodes need, and nothing more (never the default compute service account, which is Editor).
NODE_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/artifactregistry.reader",
)


@dataclass(frozen=True)
class GkeClusterArgs:
    cluster_name: str
    project: str
    region: str
    zones: list[str]
    network: pulumi.Input[str]
    subnetwork: pulumi.Input[str]
    master_cidr: str
    private_endpoint: bool
    authorized_cidrs: list[str]
    release_channel: str
    labels: dict[str, str]
    protect: bool
    # gke-security-groups@<domain>: the group whose member groups RoleBindings may name.
    rbac_security_group: str | None = None
    # A Cloud KMS key for application-layer secrets encryption, and what its use depends on.
    secrets_key: pulumi.Input[str] | None = None
    secrets_key_ready: pulumi.Resource | None = None
    intranode_visibility: bool = False


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str) -> str:
    """A kubeconfig that authenticates with the caller's Google credentials (gke-gcloud-auth-plugin)."""
    return exec_kubeconfig(
        cluster_name,
        f"https://{require(endpoint, 'GKE endpoint')}",
        require(ca_data, "GKE cluster CA certificate"),
        {"command": "gke-gcloud-auth-plugin", "provideClusterInfo": True},
    )


class GkeCluster(pulumi.ComponentResource):
    cluster: gcp.container.Cluster
    node_service_account: gcp.serviceaccount.Account
    kubeconfig: pulumi.Output[str]
    workload_pool: str

    def __init__(
        self, name: str, args: GkeClusterArgs, *, provider: gcp.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rayplat:gcp:GkeCluster", name, None, opts)
        child = child_options(self, provider, opts)
        self.node_service_account = gcp.serviceaccount.Account(
            f"{name}-nodes",
            account_id=f"{args.cluster_name[:22]}-nodes",
            display_name=f"{args.cluster_name} nodes",
            opts=child,
        )
        for role in NODE_ROLES:
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.rsplit('.', 1)[-1]}",
                project=args.project,
                role=role,
                member=self.node_service_account.email.apply(lambda email: f"serviceAccount:{email}"),
                opts=child,
            )
        self.workload_pool = f"{args.project}.svc.id.goog"
        self.cluster = gcp.container.Cluster(
            name,
            name=args.cluster_name,
            location=args.region,
            node_locations=args.zones,
            network=args.network,
            subnetwork=args.subnetwork,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=PODS_RANGE, services_secondary_range_name=SERVICES_RANGE
            ),
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True,
                enable_private_endpoint=args.private_endpoint,
                master_ipv4_cidr_block=args.master_cidr,
            ),
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=[
                    gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(cidr_block=c)
                    for c in args.authorized_cidrs
                ]
            ),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(workload_pool=self.workload_pool),
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=args.release_channel),
            # Dataplane V2 enforces NetworkPolicy (the teams' isolation). Immutable: set at creation only.
            datapath_provider="ADVANCED_DATAPATH",
            authenticator_groups_config=(
                gcp.container.ClusterAuthenticatorGroupsConfigArgs(security_group=args.rbac_security_group)
                if args.rbac_security_group
                else None
            ),
            database_encryption=(
                gcp.container.ClusterDatabaseEncryptionArgs(state="ENCRYPTED", key_name=args.secrets_key)
                if args.secrets_key is not None
                else None
            ),
            enable_intranode_visibility=args.intranode_visibility or None,
            enable_shielded_nodes=True,
            enable_legacy_abac=False,
            # GKE cost allocation: per-namespace and per-label cost in the billing export (an in-place update).
            cost_management_config=gcp.container.ClusterCostManagementConfigArgs(enabled=True),
            master_auth=gcp.container.ClusterMasterAuthArgs(
                client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(
                    issue_client_certificate=False
                )
            ),
            # The default pool is removed at once; the platform's pools are its own NodePool resources.
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config=gcp.container.ClusterNodeConfigArgs(
                service_account=self.node_service_account.email,
                shielded_instance_config=gcp.container.ClusterNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
                workload_metadata_config=gcp.container.ClusterNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
            ),
            logging_config=gcp.container.ClusterLoggingConfigArgs(
                enable_components=["SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER"]
            ),
            resource_labels=args.labels,
            deletion_protection=args.protect,
            # GKE checks at creation that its service agent can use the secrets key.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[args.secrets_key_ready] if args.secrets_key_ready else [])
            ),
        )
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                self.cluster.name,
                self.cluster.endpoint,
                self.cluster.master_auth.cluster_ca_certificate,
            ).apply(lambda v: kubeconfig(v[0], v[1], v[2]))
        )
        self.register_outputs({"name": self.cluster.name, "endpoint": self.cluster.endpoint})
