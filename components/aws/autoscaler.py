"""cluster-autoscaler for EKS managed node groups: a pinned Helm release with its own IRSA role."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from catalog import versions
from components.aws import iam_documents
from components.aws.identity import IrsaRole, IrsaRoleArgs, Oidc
from components.helm import pinned_release
from components.nodes import PoolSpec
from components.options import child_options

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    cluster_name: str
    region: str
    oidc: Oidc
    system_pool: PoolSpec
    tags: dict[str, str]


def autoscaler_values(args: ClusterAutoscalerArgs, role_arn: str) -> dict:
    return {
        "cloudProvider": "aws",
        "awsRegion": args.region,
        "autoDiscovery": {"clusterName": args.cluster_name},
        "image": {"tag": versions.CLUSTER_AUTOSCALER_IMAGE_TAG},
        "rbac": {
            "serviceAccount": {
                "create": True,
                "name": SERVICE_ACCOUNT,
                "annotations": {"eks.amazonaws.com/role-arn": role_arn},
            }
        },
        "extraArgs": {
            "balance-similar-node-groups": True,
            "expander": "least-waste",
            "skip-nodes-with-system-pods": False,
            "scale-down-unneeded-time": "10m",
        },
        "nodeSelector": args.system_pool.selector,
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"memory": "600Mi"}},
    }


class ClusterAutoscaler(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        args: ClusterAutoscalerArgs,
        *,
        aws_provider: aws.Provider,
        k8s_provider: k8s.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rayplat:aws:ClusterAutoscaler", name, None, opts)
        caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=aws_provider))
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(provider=aws_provider))
        policy = pulumi.Output.all(caller.account_id, partition.partition).apply(
            lambda v: iam_documents.cluster_autoscaler(args.cluster_name, v[0], args.region, v[1])
        )
        role = IrsaRole(
            name,
            IrsaRoleArgs(
                oidc=args.oidc, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT, tags=args.tags, policy=policy
            ),
            provider=aws_provider,
            opts=pulumi.ResourceOptions(parent=self),
        )
        pinned_release(
            name,
            versions.CLUSTER_AUTOSCALER,
            namespace=NAMESPACE,
            values=role.role_arn.apply(lambda arn: autoscaler_values(args, arn)),
            opts=child_options(self, k8s_provider, opts),
        )
        self.register_outputs({"role_arn": role.role_arn})
