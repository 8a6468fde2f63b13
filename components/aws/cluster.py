"""The AWS cloud layer: everything up to a ClusterHandle the kubernetes layer can install onto."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from catalog.tagging import cost_labels
from components.aws.account import AwsAccount
from components.aws.addons import CoreAddons, CoreAddonsArgs
from components.aws.autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.aws.eks import EksCluster, EksClusterArgs, TeamAccess
from components.aws.gcs_store import GcsStoreArgs, gcs_store_factory
from components.aws.identity import artifact_binder
from components.aws.karpenter import Karpenter, KarpenterArgs, KarpenterPoolOptions
from components.aws.network import Network, NetworkArgs
from components.aws.nodepools import NodePool, NodePoolArgs
from components.aws.prometheus import managed_prometheus
from components.aws.storage import ArtifactStore, ArtifactStoreArgs
from components.handle import ClusterHandle, ObjectStore
from components.nodes import ManagedPool


@dataclass(frozen=True)
class ExistingVpc:
    vpc_id: str
    private_subnet_ids: list[str]


@dataclass(frozen=True)
class AwsClusterArgs:
    cluster_name: str
    region: str
    kubernetes_version: str
    public_endpoint: bool
    public_cidrs: list[str]
    admin_role_arn: str
    deploy_role_arn: str | None
    log_retention_days: int
    # Stateful resources (cluster, bucket, keys) are protected from deletion.
    protect: bool
    # A VPC to create, or the one to use.
    network: NetworkArgs | ExistingVpc
    system_pool: ManagedPool
    gpu_pools: list[ManagedPool]
    storage: ArtifactStoreArgs
    managed_prometheus: bool
    tags: dict[str, str]
    # GPU pools as Karpenter NodePools (options per pool name), or None: managed node groups scaled by
    # cluster-autoscaler. The system pool is a managed node group either way.
    karpenter: dict[str, KarpenterPoolOptions] | None = None
    karpenter_replicas: int = 1
    team_access: list[TeamAccess] = field(default_factory=list)


class AwsCluster(pulumi.ComponentResource):
    handle: ClusterHandle
    outputs: dict[str, pulumi.Input]
    vpc_id: pulumi.Input[str]
    eks: EksCluster
    store: ArtifactStore
    provider: aws.Provider
    account: AwsAccount

    def __init__(self, name: str, args: AwsClusterArgs, *, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rayplat:aws:Cluster", name, None, opts)
        tags, cluster_name, region = args.tags, args.cluster_name, args.region
        provider = aws.Provider(
            f"{name}-aws", region=region, default_tags={"tags": tags}, opts=pulumi.ResourceOptions(parent=self)
        )
        here = pulumi.ResourceOptions(parent=self)
        account = AwsAccount.of(provider, region)
        self.provider, self.account = provider, account

        self.vpc_id, private_subnets = self._network(name, args.network, provider)
        self.eks = EksCluster(
            name,
            EksClusterArgs(
                cluster_name=cluster_name,
                kubernetes_version=args.kubernetes_version,
                subnet_ids=private_subnets,
                public_endpoint=args.public_endpoint,
                public_cidrs=args.public_cidrs,
                admin_role_arn=args.admin_role_arn,
                deploy_role_arn=args.deploy_role_arn,
                log_retention_days=args.log_retention_days,
                protect=args.protect,
                tags=tags,
                team_access=args.team_access,
            ),
            provider=provider,
            account=account,
            opts=here,
        )

        system_spec, gpu_specs = args.system_pool.spec, [p.spec for p in args.gpu_pools]
        node_pools = [
            NodePool(
                f"{name}-{pool.spec.name}",
                NodePoolArgs(
                    cluster_name=self.eks.name,
                    node_role_arn=self.eks.node_role.arn,
                    subnet_ids=private_subnets,
                    spec=pool.spec,
                    spot=pool.spot,
                    initial_size=pool.initial_size,
                    disk_size_gib=pool.disk_size_gib,
                    tags=tags,
                ),
                provider=provider,
                opts=pulumi.ResourceOptions(parent=self, depends_on=self.eks.node_role_attachments),
            )
            for pool in [args.system_pool, *([] if args.karpenter is not None else args.gpu_pools)]
        ]
        addons = CoreAddons(
            f"{name}-addons",
            CoreAddonsArgs(cluster_name=self.eks.name, oidc=self.eks.oidc, tags=tags),
            provider=provider,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[p.node_group for p in node_pools]),
        )

        self.store = ArtifactStore(
            f"{name}-artifacts",
            args.storage,
            provider=provider,
            account=account,
            opts=here,
        )

        k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.eks.kubeconfig,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.eks.cluster, *self.eks.access]),
        )
        # EKS has no default StorageClass since 1.30: Prometheus (and team volumes) get encrypted,
        # expandable gp3 volumes that outlive their claims.
        storage_class = k8s.storage.v1.StorageClass(
            f"{name}-gp3",
            metadata={"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true"},
            allow_volume_expansion=True,
            volume_binding_mode="WaitForFirstConsumer",
            reclaim_policy="Retain",
            opts=pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=addons.addons),
        )
        # cluster-autoscaler scales the managed node groups: all pools, or the system pool only under Karpenter.
        ClusterAutoscaler(
            f"{name}-autoscaler",
            ClusterAutoscalerArgs(
                cluster_name=cluster_name, region=region, oidc=self.eks.oidc, system_pool=system_spec, tags=tags
            ),
            aws_provider=provider,
            k8s_provider=k8s_provider,
            opts=pulumi.ResourceOptions(parent=self, depends_on=addons.addons),
        )
        ready: list[pulumi.Resource] = [*addons.addons, storage_class]
        if args.karpenter is not None:
            karpenter = Karpenter(
                f"{name}-karpenter",
                KarpenterArgs(
                    cluster_name=cluster_name,
                    region=region,
                    oidc=self.eks.oidc,
                    system_pool=system_spec,
                    gpu_pools=args.gpu_pools,
                    options=args.karpenter,
                    replicas=args.karpenter_replicas,
                    node_security_group_id=self.eks.cluster.vpc_config.cluster_security_group_id,
                    existing_subnet_ids=list(private_subnets) if isinstance(args.network, ExistingVpc) else [],
                    tags=tags,
                    cost_labels=cost_labels(tags),
                ),
                aws_provider=provider,
                k8s_provider=k8s_provider,
                account=account,
                opts=pulumi.ResourceOptions(parent=self, depends_on=addons.addons),
            )
            ready.append(karpenter)

        self.handle = ClusterHandle(
            name=self.eks.name,
            provider=k8s_provider,
            system_pool=system_spec,
            gpu_pools=gpu_specs,
            object_store=ObjectStore(
                bucket=self.store.bucket, uri=pulumi.Output.concat("s3://", self.store.bucket), region=region
            ),
            bind_identity=artifact_binder(
                oidc=self.eks.oidc,
                bucket_arn=self.store.bucket_arn,
                key_arn=self.store.key_arn,
                tags=tags,
                provider=provider,
                parent=self,
            ),
            cost_labels=cost_labels(tags),
            ready=ready,
            karpenter=args.karpenter is not None,
            gcs_redis=gcs_store_factory(
                GcsStoreArgs(
                    vpc_id=self.vpc_id,
                    subnet_ids=private_subnets,
                    node_security_group_id=self.eks.cluster.vpc_config.cluster_security_group_id,
                    tags=tags,
                    protect=args.protect,
                ),
                provider=provider,
                parent=self,
            ),
            managed_prometheus=managed_prometheus(
                name=f"{name}-metrics", region=region, oidc=self.eks.oidc, tags=tags, provider=provider, parent=self
            )
            if args.managed_prometheus
            else None,
        )
        self.outputs = {
            "region": region,
            "vpcId": self.vpc_id,
            "clusterEndpoint": self.eks.endpoint,
            "kubeconfig": self.eks.kubeconfig,
            "oidcProviderArn": self.eks.oidc.provider_arn,
            "artifactKmsKeyArn": self.store.key_arn,
        }
        self.register_outputs({"cluster_name": self.eks.name})

    def _network(self, name: str, network: NetworkArgs | ExistingVpc, provider: aws.Provider):
        if isinstance(network, ExistingVpc):
            return network.vpc_id, network.private_subnet_ids
        vpc = Network(f"{name}-vpc", network, provider=provider, opts=pulumi.ResourceOptions(parent=self))
        return vpc.vpc_id, vpc.private_subnet_ids
