"""The EKS control plane: encrypted secrets, every control-plane log, access entries, and OIDC for IRSA."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws import iam_documents
from components.aws.account import AwsAccount
from components.aws.identity import Oidc
from components.aws.keys import customer_key
from components.kubeconfig import exec_kubeconfig
from components.options import child_options, require

CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
NODE_MANAGED_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
)


@dataclass(frozen=True)
class TeamAccess:
    """A team's IAM roles, each given an access entry that maps it to the team's Kubernetes group only: what
    the group may do is the team's namespace RoleBinding, never a cluster-wide access policy."""

    team: str
    group: str
    role_arns: list[str]


@dataclass(frozen=True)
class EksClusterArgs:
    cluster_name: str
    kubernetes_version: str
    subnet_ids: pulumi.Input[list[str]]
    public_endpoint: bool
    public_cidrs: list[str]
    admin_role_arn: str
    log_retention_days: int
    tags: dict[str, str]
    # The role that runs `pulumi up`, given an explicit access entry; None keeps EKS's implicit
    # cluster-admin for the cluster's creator.
    deploy_role_arn: str | None = None
    # Production: the keys and the control-plane logs can be neither deleted nor lost.
    protect: bool = False
    team_access: list[TeamAccess] = field(default_factory=list)


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates with the caller's AWS credentials through `aws eks get-token`."""
    return exec_kubeconfig(
        cluster_name,
        require(endpoint, "EKS cluster endpoint"),
        require(ca_data, "EKS certificate authority"),
        {
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"],
        },
    )


class EksCluster(pulumi.ComponentResource):
    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    oidc: Oidc
    node_role: aws.iam.Role
    cluster: aws.eks.Cluster
    # The cluster-admin access entries' policy associations: Kubernetes resources wait for them.
    access: list[aws.eks.AccessPolicyAssociation]
    team_access: list[aws.eks.AccessEntry]

    def __init__(
        self,
        name: str,
        args: EksClusterArgs,
        *,
        provider: aws.Provider,
        account: AwsAccount,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rayplat:aws:EksCluster", name, None, opts)
        child = child_options(self, provider, opts)
        tags = args.tags
        stateful = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect)
        )

        cluster_role = aws.iam.Role(
            f"{name}-cluster",
            assume_role_policy=json.dumps(iam_documents.assume_role_by_service("eks.amazonaws.com")),
            tags=tags,
            opts=child,
        )
        policy_attachment = aws.iam.RolePolicyAttachment(
            f"{name}-cluster",
            role=cluster_role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )

        secrets_key = customer_key(
            f"{name}-secrets",
            alias=f"alias/{args.cluster_name}-secrets",
            description=f"Envelope encryption of {args.cluster_name} Kubernetes secrets",
            policy=pulumi.Output.all(account.account_id, account.partition, cluster_role.arn).apply(
                lambda v: json.dumps(iam_documents.secrets_key_policy(v[0], args.admin_role_arn, v[2], v[1]))
            ),
            tags=tags,
            key_opts=stateful,
            alias_opts=child,
        )

        log_group = self._control_plane_logs(name, args, account, child, stateful)
        self.cluster = aws.eks.Cluster(
            name,
            name=args.cluster_name,
            version=args.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config={
                "subnet_ids": args.subnet_ids,
                "endpoint_private_access": True,
                "endpoint_public_access": args.public_endpoint,
                "public_access_cidrs": args.public_cidrs if args.public_endpoint else None,
            },
            encryption_config={"provider": {"key_arn": secrets_key.arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=CONTROL_PLANE_LOG_TYPES,
            # With a deploy role, access is by explicit access entries only; without one, EKS makes the
            # identity that runs `pulumi up` cluster admin, for it installs the kubernetes layer.
            access_config={
                "authentication_mode": "API",
                "bootstrap_cluster_creator_admin_permissions": args.deploy_role_arn is None,
            },
            tags=tags,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[policy_attachment, log_group])),
        )

        self.access = [
            self._cluster_admin(f"{name}-{who}", principal, tags, child)
            for who, principal in (("admin", args.admin_role_arn), ("deploy", args.deploy_role_arn))
            if principal is not None
        ]

        self.team_access = [
            aws.eks.AccessEntry(
                f"{name}-team-{team.team}-{arn.rsplit('/', 1)[-1]}",
                cluster_name=self.cluster.name,
                principal_arn=arn,
                type="STANDARD",
                kubernetes_groups=[team.group],
                tags=tags,
                opts=child,
            )
            for team in args.team_access
            for arn in team.role_arns
        ]

        issuer = self.cluster.identities.apply(
            lambda ids: require(ids and ids[0].oidcs and ids[0].oidcs[0].issuer, "EKS OIDC issuer")
        )
        oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=["sts.amazonaws.com"],
            tags=tags,
            opts=child,
        )
        self.oidc = Oidc(provider_arn=oidc_provider.arn, issuer_url=issuer)

        self.node_role = aws.iam.Role(
            f"{name}-node",
            assume_role_policy=json.dumps(iam_documents.assume_role_by_service("ec2.amazonaws.com")),
            tags=tags,
            opts=child,
        )
        self.node_role_attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{arn.rsplit('/', 1)[-1]}", role=self.node_role.name, policy_arn=arn, opts=child
            )
            for arn in NODE_MANAGED_POLICIES
        ]

        self.name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                self.cluster.name,
                self.cluster.endpoint,
                self.cluster.certificate_authority.data,
            ).apply(lambda v: kubeconfig(v[0], v[1], v[2], account.region))
        )
        self.register_outputs({"name": self.name, "endpoint": self.endpoint, "oidc_provider_arn": oidc_provider.arn})

    def _control_plane_logs(
        self,
        name: str,
        args: EksClusterArgs,
        account: AwsAccount,
        child: pulumi.ResourceOptions,
        stateful: pulumi.ResourceOptions,
    ) -> aws.cloudwatch.LogGroup:
        """The group EKS writes its control-plane logs to, created first so that it has a retention and a key."""
        group_name = f"/aws/eks/{args.cluster_name}/cluster"
        key = customer_key(
            f"{name}-logs",
            alias=f"alias/{args.cluster_name}-logs",
            description=f"Encryption of the {args.cluster_name} control-plane logs",
            policy=pulumi.Output.all(account.account_id, account.partition, account.dns_suffix).apply(
                lambda v: json.dumps(
                    iam_documents.log_key_policy(v[0], args.admin_role_arn, group_name, account.region, v[1], v[2])
                )
            ),
            tags=args.tags,
            key_opts=stateful,
            alias_opts=child,
        )
        return aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=key.arn,
            tags=args.tags,
            opts=stateful,
        )

    def _cluster_admin(
        self, name: str, principal_arn: str, tags: dict[str, str], child: pulumi.ResourceOptions
    ) -> aws.eks.AccessPolicyAssociation:
        entry = aws.eks.AccessEntry(
            name, cluster_name=self.cluster.name, principal_arn=principal_arn, type="STANDARD", tags=tags, opts=child
        )
        return aws.eks.AccessPolicyAssociation(
            name,
            cluster_name=self.cluster.name,
            principal_arn=entry.principal_arn,
            policy_arn=CLUSTER_ADMIN_POLICY,
            access_scope={"type": "cluster"},
            opts=child,
        )
