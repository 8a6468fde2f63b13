"""Karpenter on EKS: the controller (pinned chart, CRDs server-side applied, IRSA role), its interruption queue
and EventBridge rules, its node role, and one EC2NodeClass and NodePool per GPU pool."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from catalog import versions
from catalog.aws_instances import GPU_INSTANCE_TYPES
from catalog.karpenter import CAPACITY_TYPE_LABEL, DISCOVERY_TAG, INSTANCE_TYPE_LABEL
from catalog.labels import GPU_RESOURCE
from catalog.tagging import with_name
from components.aws import iam_documents
from components.aws.account import AwsAccount
from components.aws.eks import NODE_MANAGED_POLICIES
from components.aws.identity import IrsaRole, IrsaRoleArgs, Oidc
from components.aws.nodepools import ROOT_DEVICE
from components.helm import pinned_release
from components.kubernetes.custom import custom_resource
from components.nodes import ManagedPool, PoolSpec
from components.options import child_options

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "karpenter"
NODEPOOL_API = "karpenter.sh/v1"
NODECLASS_API = "karpenter.k8s.aws/v1"
# The EventBridge events Karpenter acts on: it drains a node before EC2 takes it away.
INTERRUPTION_EVENTS = {
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "instance-state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "scheduled-change": ("aws.health", "AWS Health Event"),
}


@dataclass(frozen=True)
class KarpenterPoolOptions:
    consolidate_after: str
    expire_after: str
    disruption_budget: str
    on_demand_fallback: bool


@dataclass(frozen=True)
class KarpenterArgs:
    cluster_name: str
    region: str
    oidc: Oidc
    system_pool: PoolSpec
    gpu_pools: list[ManagedPool]
    # Per GPU pool name.
    options: dict[str, KarpenterPoolOptions]
    # Two controllers (leader election) where the stack is protected.
    replicas: int
    # The security group of the cluster's nodes, tagged for discovery here; the subnets of a created VPC are
    # tagged by the network, those of an existing VPC (listed here) by this component.
    node_security_group_id: pulumi.Input[str]
    existing_subnet_ids: list[str]
    tags: dict[str, str]
    cost_labels: dict[str, str]


def node_role_name(cluster_name: str) -> str:
    return f"{cluster_name}-karpenter-node"


def capacity_types(pool: ManagedPool, options: KarpenterPoolOptions) -> list[str]:
    """Spot pools with fallback allow both: Karpenter launches spot first and falls back to on-demand only
    when EC2 has no spot capacity for the pool's types (it prioritises spot when a NodePool allows both)."""
    if not pool.spot:
        return ["on-demand"]
    return ["spot", "on-demand"] if options.on_demand_fallback else ["spot"]


def pool_limits(spec: PoolSpec) -> dict[str, str]:
    """What the pool may hold at most: its max nodes of its largest instance type, in GPUs and CPUs."""
    vcpus = max(GPU_INSTANCE_TYPES[t].vcpus for t in spec.instance_types)
    return {GPU_RESOURCE: str(spec.max_gpus), "cpu": str(spec.max_size * vcpus)}


def node_pool(pool: ManagedPool, options: KarpenterPoolOptions) -> dict[str, Any]:
    """One GPU pool as a NodePool: the node-group path's labels and taints, its instance types, its limits."""
    spec = pool.spec
    return {
        "apiVersion": NODEPOOL_API,
        "kind": "NodePool",
        "metadata": {"name": spec.name},
        "spec": {
            "template": {
                "metadata": {"labels": dict(spec.labels)},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": spec.name},
                    "requirements": [
                        {"key": INSTANCE_TYPE_LABEL, "operator": "In", "values": list(spec.instance_types)},
                        {"key": CAPACITY_TYPE_LABEL, "operator": "In", "values": capacity_types(pool, options)},
                    ],
                    "taints": [dict(t) for t in spec.taints],
                    "expireAfter": options.expire_after,
                },
            },
            "limits": pool_limits(spec),
            "disruption": {
                "consolidationPolicy": "WhenEmptyOrUnderutilized",
                "consolidateAfter": options.consolidate_after,
                "budgets": [{"nodes": options.disruption_budget}],
            },
        },
    }


def node_class(pool: ManagedPool, cluster_name: str, node_role: str, tags: dict[str, str]) -> dict[str, Any]:
    """The nodes of one GPU pool: accelerated AMI, IMDSv2 with one hop, an encrypted gp3 root volume of the
    pool's size, subnets and security groups found by the platform's discovery tag, every cost tag."""
    discovery = [{"tags": {DISCOVERY_TAG: cluster_name}}]
    return {
        "apiVersion": NODECLASS_API,
        "kind": "EC2NodeClass",
        "metadata": {"name": pool.spec.name},
        "spec": {
            "role": node_role,
            "amiSelectorTerms": [{"alias": versions.KARPENTER_GPU_AMI_ALIAS}],
            "subnetSelectorTerms": discovery,
            "securityGroupSelectorTerms": discovery,
            "associatePublicIPAddress": False,
            # Pods cannot borrow the node's role through the metadata service; they use IRSA.
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpProtocolIPv6": "disabled",
                "httpPutResponseHopLimit": 1,
                "httpTokens": "required",
            },
            "blockDeviceMappings": [
                {
                    "deviceName": ROOT_DEVICE,
                    "rootVolume": True,
                    "ebs": {
                        "volumeSize": f"{pool.disk_size_gib}Gi",
                        "volumeType": "gp3",
                        "encrypted": True,
                        "deleteOnTermination": True,
                    },
                }
            ],
            # Karpenter puts these on the instance, its volumes and its network interfaces.
            "tags": with_name(tags, f"{cluster_name}-{pool.spec.name}"),
        },
    }


def controller_values(args: KarpenterArgs, role_arn: str, queue_name: str) -> dict[str, Any]:
    repository, tag = versions.KARPENTER_IMAGE.rsplit(":", 1)
    return {
        "replicas": args.replicas,
        "serviceAccount": {
            "create": True,
            "name": SERVICE_ACCOUNT,
            "annotations": {"eks.amazonaws.com/role-arn": role_arn},
        },
        # On the system pool, a managed node group: never on nodes Karpenter itself manages (the chart's
        # default affinity keeps it off nodes labelled karpenter.sh/nodepool).
        "nodeSelector": args.system_pool.selector,
        "controller": {
            "image": {"repository": repository, "tag": tag, "digest": versions.KARPENTER_IMAGE_DIGEST},
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
        },
        "settings": {"clusterName": args.cluster_name, "interruptionQueue": queue_name},
        "podLabels": args.cost_labels,
    }


class Karpenter(pulumi.ComponentResource):
    node_role: aws.iam.Role
    queue: aws.sqs.Queue
    release: k8s.helm.v3.Release

    def __init__(
        self,
        name: str,
        args: KarpenterArgs,
        *,
        aws_provider: aws.Provider,
        k8s_provider: k8s.Provider,
        account: AwsAccount,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rayplat:aws:Karpenter", name, None, opts)
        child = child_options(self, aws_provider, opts)
        k8s_child = child_options(self, k8s_provider, opts)
        tags = args.tags

        self.node_role = self._node_role(name, args, child)
        discovered = [("node-security-group", args.node_security_group_id)]
        discovered += [(subnet, subnet) for subnet in args.existing_subnet_ids]
        for what, resource_id in discovered:
            aws.ec2.Tag(
                f"{name}-discovery-{what}",
                resource_id=resource_id,
                key=DISCOVERY_TAG,
                value=args.cluster_name,
                opts=child,
            )
        self.queue = self._interruption_queue(name, args, child)
        policy = pulumi.Output.all(account.account_id, account.partition, self.node_role.arn, self.queue.arn).apply(
            lambda v: iam_documents.karpenter_controller(args.cluster_name, v[0], args.region, v[2], v[3], v[1])
        )
        role = IrsaRole(
            name,
            IrsaRoleArgs(
                oidc=args.oidc, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT, tags=tags, policy=policy
            ),
            provider=aws_provider,
            opts=pulumi.ResourceOptions(parent=self),
        )

        crds = k8s.yaml.v2.ConfigGroup(f"{name}-crds", files=list(versions.KARPENTER_CRD_URLS), opts=k8s_child)
        self.release = pinned_release(
            name,
            versions.KARPENTER,
            namespace=NAMESPACE,
            values=pulumi.Output.all(role.role_arn, self.queue.name).apply(
                lambda v: controller_values(args, v[0], v[1])
            ),
            skip_crds=True,
            opts=pulumi.ResourceOptions.merge(k8s_child, pulumi.ResourceOptions(depends_on=[crds])),
        )
        after_release = pulumi.ResourceOptions.merge(k8s_child, pulumi.ResourceOptions(depends_on=[self.release]))
        for pool in args.gpu_pools:
            options = args.options[pool.spec.name]
            for manifest in (
                node_class(pool, args.cluster_name, node_role_name(args.cluster_name), tags),
                node_pool(pool, options),
            ):
                custom_resource(f"{name}-{pool.spec.name}-{manifest['kind'].lower()}", manifest, after_release)
        self.register_outputs({"queue": self.queue.name, "role_arn": role.role_arn})

    def _node_role(self, name: str, args: KarpenterArgs, child: pulumi.ResourceOptions) -> aws.iam.Role:
        """Karpenter's nodes get their own role (managed node groups already hold an access entry for theirs),
        joined to the cluster by an EC2_LINUX access entry."""
        role = aws.iam.Role(
            f"{name}-node",
            name=node_role_name(args.cluster_name),
            assume_role_policy=json.dumps(iam_documents.assume_role_by_service("ec2.amazonaws.com")),
            tags=args.tags,
            opts=child,
        )
        for arn in NODE_MANAGED_POLICIES:
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=child
            )
        aws.eks.AccessEntry(
            f"{name}-node",
            cluster_name=args.cluster_name,
            principal_arn=role.arn,
            type="EC2_LINUX",
            tags=args.tags,
            opts=child,
        )
        return role

    def _interruption_queue(self, name: str, args: KarpenterArgs, child: pulumi.ResourceOptions) -> aws.sqs.Queue:
        queue = aws.sqs.Queue(
            f"{name}-interruption",
            name=f"{args.cluster_name}-karpenter",
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            tags=args.tags,
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-interruption",
            queue_url=queue.url,
            policy=queue.arn.apply(lambda arn: json.dumps(iam_documents.interruption_queue_policy(arn))),
            opts=child,
        )
        for event, (source, detail_type) in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{event}",
                name=f"{args.cluster_name}-karpenter-{event}",
                description=f"{detail_type} to Karpenter's interruption queue ({args.cluster_name})",
                event_pattern=json.dumps({"source": [source], "detail-type": [detail_type]}),
                tags=args.tags,
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{event}", rule=rule.name, arn=queue.arn, target_id="KarpenterInterruptionQueue", opts=child
            )
        return queue
