"""EKS beyond the basics: who gets in (access entries only, no implicit creator admin, no public endpoint in
production), what enforces the network policies, where nodes run, pinned add-ons, and kept, encrypted logs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from pulumi_policy import Severity

from policies.eks import CLUSTER, NODE_GROUP, SUBNET
from policies.rules import Rule, Subject, as_list, depending_on, of_type, plain, resource_rule, stack_rule, whole
from policies.s3 import PROTECTED_ENVIRONMENT

ADDON = ("aws:eks/addon:Addon",)
LOG_GROUP = ("aws:cloudwatch/logGroup:LogGroup",)
CONFIG_MAPS = ("kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:ConfigMapPatch")
NETWORK_POLICY = ("kubernetes:networking.k8s.io/v1:NetworkPolicy",)
ROUTE_TABLE = ("aws:ec2/routeTable:RouteTable",)
ROUTE = ("aws:ec2/route:Route",)
ROUTE_TABLE_ASSOCIATION = ("aws:ec2/routeTableAssociation:RouteTableAssociation",)
INTERNET_GATEWAY = ("aws:ec2/internetGateway:InternetGateway",)
WORLD = ("0.0.0.0/0", "::/0")
# The EKS subnet tag for internet-facing load balancers: a public subnet by declaration.
PUBLIC_SUBNET_TAG = "kubernetes.io/role/elb"


def _private_endpoint(subject: Subject, config) -> Iterable[str]:
    # EKS opens the public endpoint unless endpointPublicAccess is false.
    if config["protectedEnvironment"] and subject.get("vpcConfig", "endpointPublicAccess", default=True) is not False:
        cidrs = as_list(subject.get("vpcConfig", "publicAccessCidrs"))
        scope = f"restricted to {len(cidrs)} CIDR(s)" if cidrs else "open to 0.0.0.0/0"
        yield f"the Kubernetes API has a public endpoint ({scope}); a protected environment reaches it privately"


def _creator_admin(subject: Subject, config) -> Iterable[str]:
    # EKS makes the creator cluster admin unless bootstrapClusterCreatorAdminPermissions is false.
    bootstrap = subject.get("accessConfig", "bootstrapClusterCreatorAdminPermissions", default=True)
    if config["protectedEnvironment"] and bootstrap is not False:
        yield (
            "the identity that created the cluster stays cluster admin outside any access entry "
            "(bootstrapClusterCreatorAdminPermissions)"
        )


def _access_entries(subject: Subject, _config) -> Iterable[str]:
    if subject.type in CLUSTER:
        # The EKS API's own default is CONFIG_MAP.
        mode = subject.get("accessConfig", "authenticationMode", default="CONFIG_MAP")
        if mode != "API":
            yield f"authenticationMode {mode} lets the aws-auth ConfigMap grant access; use API (access entries)"
    elif subject.get("metadata", "name") == "aws-auth" and subject.get("metadata", "namespace") == "kube-system":
        yield "the program manages the aws-auth ConfigMap: grant access with EKS access entries instead"


def _addon_pinned(subject: Subject, _config) -> Iterable[str]:
    if not subject.get("addonVersion"):
        yield (
            f"add-on {subject.get('addonName', default='?')} has no addonVersion: EKS installs its default for "
            "the cluster version, which changes without a change to the program"
        )


def _network_policy_enforced(subjects: list[Subject], _config) -> Iterable[tuple[Subject, str]]:
    policies = of_type(subjects, NETWORK_POLICY)
    if not policies:
        return
    for cluster in of_type(subjects, CLUSTER):
        cni = [a for a in depending_on(subjects, cluster, ADDON) if a.get("addonName") == "vpc-cni"]
        if not any(_enables_network_policy(a.get("configurationValues")) for a in cni):
            yield (
                cluster,
                (
                    f"the stack declares {len(policies)} NetworkPolicies, but no vpc-cni add-on of this cluster "
                    'enforces them (configurationValues enableNetworkPolicy: "true"): they would do nothing'
                ),
            )


def _enables_network_policy(values: Any) -> bool:
    """Add-on configuration values are JSON or YAML text."""
    parsed = yaml.safe_load(values) if isinstance(values, str) else plain(values)
    return isinstance(parsed, Mapping) and str(parsed.get("enableNetworkPolicy")).lower() == "true"


def _public_subnets(subjects: list[Subject]) -> dict[str, str]:
    """URN -> why, for every subnet of the stack that is public: it assigns public IPs, it is tagged for
    internet-facing load balancers, or its route table sends 0.0.0.0/0 to an internet gateway."""
    gateways = {s.urn for s in of_type(subjects, INTERNET_GATEWAY)}
    public_tables = {
        t.urn
        for t in of_type(subjects, ROUTE_TABLE)
        if any(_to_internet(r, t, gateways) for r in as_list(t.get("routes")))
    }
    public_tables |= {
        dependency
        for route in of_type(subjects, ROUTE)
        if _to_internet(
            {
                "cidrBlock": route.get("destinationCidrBlock"),
                "ipv6CidrBlock": route.get("destinationIpv6CidrBlock"),
                "gatewayId": route.get("gatewayId"),
            },
            route,
            gateways,
        )
        for dependency in route.dependencies
    }
    public = {}
    for subnet in of_type(subjects, SUBNET):
        associations = depending_on(subjects, subnet, ROUTE_TABLE_ASSOCIATION)
        if subnet.get("mapPublicIpOnLaunch") is True:
            public[subnet.urn] = "it assigns public IPs"
        elif str((plain(subnet.get("tags")) or {}).get(PUBLIC_SUBNET_TAG)) == "1":
            public[subnet.urn] = f"it is tagged {PUBLIC_SUBNET_TAG} for internet-facing load balancers"
        elif any(d in public_tables for a in associations for d in a.dependencies):
            public[subnet.urn] = "its route table sends 0.0.0.0/0 to an internet gateway"
    return public


def _to_internet(route: Mapping[str, Any], owner: Subject, gateways: set[str]) -> bool:
    if route.get("cidrBlock") not in WORLD and route.get("ipv6CidrBlock") not in WORLD:
        return False
    gateway = route.get("gatewayId")
    # A gateway id is unknown until the gateway exists: then the route's dependency on it tells.
    return str(gateway).startswith("igw-") or (gateway is not None and any(d in gateways for d in owner.dependencies))


def _nodes_private(subjects: list[Subject], _config) -> Iterable[tuple[Subject, str]]:
    public = _public_subnets(subjects)
    by_urn = {s.urn: s for s in subjects}
    for group in of_type(subjects, NODE_GROUP):
        for urn in group.dependencies:
            if urn in public:
                yield group, f"nodes run in public subnet {by_urn[urn].name}: {public[urn]}"


def _retention(subject: Subject, config) -> Iterable[str]:
    days = whole(subject.get("retentionInDays", default=0))
    if not days:
        yield "the log group has no retention: CloudWatch keeps (and bills) its logs forever"
    elif days < config["minRetentionDays"]:
        yield f"logs are kept {days} days, less than the {config['minRetentionDays']} this environment requires"


def _log_encrypted(subject: Subject, _config) -> Iterable[str]:
    if not subject.get("kmsKeyId"):
        yield "the log group is not encrypted with a customer-managed KMS key (kmsKeyId)"


POLICIES: list[Rule] = [
    resource_rule(
        name="eks-private-endpoint-protected",
        area="eks",
        severity=Severity.HIGH,
        types=CLUSTER,
        check=_private_endpoint,
        config=PROTECTED_ENVIRONMENT,
        description="In protected environments the Kubernetes API has no public endpoint, even one limited to CIDRs.",
        remediation="Set cluster.endpoint.access to private and reach the API from the VPC (runner, VPN, peering).",
        controls=("CIS EKS 5.4.2", "AWS FSBP EKS.1", "EKS BP IAM: Make the EKS Cluster Endpoint private"),
    ),
    resource_rule(
        name="eks-no-creator-admin",
        area="eks",
        severity=Severity.HIGH,
        types=CLUSTER,
        check=_creator_admin,
        config=PROTECTED_ENVIRONMENT,
        description="In protected environments nobody is cluster admin by having created the cluster.",
        remediation="Set cluster.deployRoleArn: the cluster is created with bootstrapClusterCreatorAdminPermissions "
        "false and the deploy role gets an explicit access entry (this replaces an existing cluster).",
        controls=(
            "CIS EKS 4.1.1",
            "EKS BP IAM: Remove the cluster-admin permissions from the cluster creator principal",
        ),
    ),
    resource_rule(
        name="eks-access-entries-only",
        area="eks",
        severity=Severity.HIGH,
        types=(*CLUSTER, *CONFIG_MAPS),
        check=_access_entries,
        description="Access to the cluster is granted by EKS access entries only, never by the aws-auth ConfigMap.",
        remediation="Set accessConfig.authenticationMode to API and replace aws-auth mappings with "
        "aws.eks.AccessEntry resources.",
        controls=("CIS EKS 5.5.1", "EKS BP IAM: Cluster Access Manager (the aws-auth ConfigMap is deprecated)"),
    ),
    resource_rule(
        name="eks-addon-version-pinned",
        area="eks",
        severity=Severity.MEDIUM,
        types=ADDON,
        check=_addon_pinned,
        description="Every EKS managed add-on is pinned to an exact version.",
        remediation="Pin the add-on in catalog/versions.py EKS_ADDONS "
        "(aws eks describe-addon-versions --kubernetes-version <version>).",
        controls=("EKS BP Upgrades: Confirm version compatibility with existing nodes and the control plane",),
    ),
    stack_rule(
        name="eks-network-policy-enforced",
        area="eks",
        severity=Severity.HIGH,
        types=CLUSTER,
        reads=(*ADDON, *NETWORK_POLICY),
        check=_network_policy_enforced,
        description="Where the stack declares NetworkPolicies, the cluster's VPC CNI enforces them.",
        remediation='Give the vpc-cni add-on the configuration values {"enableNetworkPolicy": "true"} '
        "(components/aws/addons.py).",
        controls=("CIS EKS 5.4.4", "EKS BP Network: Network policy"),
    ),
    stack_rule(
        name="nodes-in-private-subnets",
        area="nodes",
        severity=Severity.HIGH,
        types=NODE_GROUP,
        reads=(*SUBNET, *ROUTE_TABLE, *ROUTE, *ROUTE_TABLE_ASSOCIATION, *INTERNET_GATEWAY),
        check=_nodes_private,
        description="Node groups run in private subnets: none that assigns public IPs, is tagged for public load "
        "balancers, or routes to an internet gateway.",
        remediation="Give node groups the private subnets (network.existing.privateSubnetIds, or the VPC the "
        "platform creates); egress goes through NAT.",
        controls=("CIS EKS 5.4.3", "EKS BP Hosts: Deploy workers onto private subnets"),
    ),
    resource_rule(
        name="log-group-retention",
        area="eks",
        severity=Severity.MEDIUM,
        types=LOG_GROUP,
        check=_retention,
        config={
            "minRetentionDays": {
                "type": "integer",
                "minimum": 1,
                "default": 30,
                "description": "The shortest retention this environment accepts (prod: 365).",
            }
        },
        description="Log groups keep their logs for a set period, at least the environment's minimum.",
        remediation="Set cluster.logRetentionDays (prod at least 365); it becomes the log group's retentionInDays.",
        controls=("AWS Security Hub CloudWatch.16", "EKS BP Detective: Enable audit logs"),
    ),
    resource_rule(
        name="log-group-encrypted",
        area="eks",
        severity=Severity.MEDIUM,
        types=LOG_GROUP,
        check=_log_encrypted,
        description="Log groups are encrypted with a customer-managed KMS key.",
        remediation="Give the log group a kmsKeyId whose key policy lets logs.<region>.amazonaws.com use it for "
        "that group only.",
        controls=("AWS Config cloudwatch-log-group-encrypted",),
    ),
]
