"""The AWS Load Balancer Controller: the controller that serves the platform's Ingresses with internal ALBs,
a pinned Helm release with its own IRSA role.

Its policy is upstream's ``docs/install/iam_policy.json`` (v3.5.0) narrowed to what this platform uses: ALBs
for Ingresses in the cluster's VPC, with the stack's ACM certificate. Gone are WAF, Shield and Cognito (turned
off in the values), IAM server certificates, Outposts pools and IPAM; creation is allowed only for resources
tagged with this cluster, changes only to load balancers, target groups and security groups carrying that
tag, security groups only in the VPC, listeners only of this account's ALBs in this region.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from catalog import versions
from components.aws.account import AwsAccount
from components.aws.identity import ROLE_ARN_ANNOTATION, IrsaRole, IrsaRoleArgs, Oidc
from components.handle import IngressSupport
from components.helm import pinned_release
from components.nodes import PoolSpec
from components.options import child_options

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
INGRESS_CLASS = "alb"
# The tag the controller puts on every load balancer, target group and security group it creates.
CLUSTER_TAG = "elbv2.k8s.aws/cluster"
ALB = "alb.ingress.kubernetes.io/"
# AWS's TLS 1.3 policy (TLS 1.2 at least, forward secrecy only).
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class LoadBalancerArgs:
    cluster_name: str
    region: str
    vpc_id: pulumi.Input[str]
    certificate_arn: str
    oidc: Oidc
    system_pool: PoolSpec
    replicas: int
    tags: dict[str, str]


def _statement(sid: str, actions: list[str], resources: list[str] | str, **condition: Any) -> dict[str, Any]:
    statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    return {**statement, "Condition": condition} if condition else statement


def controller_policy(
    cluster_name: str, vpc_id: str, certificate_arn: str, account_id: str, region: str, partition: str = "aws"
) -> dict[str, Any]:
    ec2 = f"arn:{partition}:ec2:{region}:{account_id}"
    elb = f"arn:{partition}:elasticloadbalancing:{region}:{account_id}"
    security_groups = f"{ec2}:security-group/*"
    balancers = [f"{elb}:loadbalancer/app/*/*", f"{elb}:targetgroup/*/*"]
    listeners, rules = f"{elb}:listener/app/*/*/*", f"{elb}:listener-rule/app/*/*/*"
    own = {"StringEquals": {f"aws:ResourceTag/{CLUSTER_TAG}": cluster_name}}
    tagged_request = {"StringEquals": {f"aws:RequestTag/{CLUSTER_TAG}": cluster_name}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            _statement(
                "ElbServiceLinkedRole",
                ["iam:CreateServiceLinkedRole"],
                f"arn:{partition}:iam::{account_id}:role/aws-service-role/elasticloadbalancing.amazonaws.com/"
                "AWSServiceRoleForElasticLoadBalancing",
                StringEquals={"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"},
            ),
            # These reads support no resource-level permissions.
            _statement(
                "Describe",
                [
                    "ec2:DescribeAccountAttributes",
                    "ec2:DescribeAddresses",
                    "ec2:DescribeAvailabilityZones",
                    "ec2:DescribeInternetGateways",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeVpcPeeringConnections",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeInstances",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeTags",
                    "ec2:DescribeRouteTables",
                    "elasticloadbalancing:DescribeLoadBalancers",
                    "elasticloadbalancing:DescribeLoadBalancerAttributes",
                    "elasticloadbalancing:DescribeListeners",
                    "elasticloadbalancing:DescribeListenerCertificates",
                    "elasticloadbalancing:DescribeListenerAttributes",
                    "elasticloadbalancing:DescribeSSLPolicies",
                    "elasticloadbalancing:DescribeRules",
                    "elasticloadbalancing:DescribeTargetGroups",
                    "elasticloadbalancing:DescribeTargetGroupAttributes",
                    "elasticloadbalancing:DescribeTargetHealth",
                    "elasticloadbalancing:DescribeTags",
                    "elasticloadbalancing:DescribeTrustStores",
                    "elasticloadbalancing:DescribeCapacityReservation",
                    "acm:ListCertificates",
                ],
                "*",
            ),
            _statement("SecurityGroupsOfVpc", ["ec2:GetSecurityGroupsForVpc"], f"{ec2}:vpc/{vpc_id}"),
            _statement("StackCertificate", ["acm:DescribeCertificate"], certificate_arn),
            _statement(
                "CreateOwnSecurityGroups",
                ["ec2:CreateSecurityGroup"],
                [f"{ec2}:vpc/{vpc_id}", security_groups],
                **tagged_request,
            ),
            _statement(
                "TagOnCreate",
                ["ec2:CreateTags"],
                security_groups,
                StringEquals={"ec2:CreateAction": "CreateSecurityGroup", f"aws:RequestTag/{CLUSTER_TAG}": cluster_name},
            ),
            _statement(
                "ManageOwnSecurityGroups",
                ["ec2:CreateTags", "ec2:DeleteTags", "ec2:DeleteSecurityGroup"],
                security_groups,
                **own,
            ),
            # The controller opens the nodes' (untagged) security groups to its ALBs: only in the cluster's VPC.
            _statement(
                "OpenSecurityGroupsOfVpc",
                ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
                security_groups,
                ArnEquals={"ec2:Vpc": f"{ec2}:vpc/{vpc_id}"},
            ),
            _statement(
                "CreateOwnBalancers",
                ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
                balancers,
                **tagged_request,
            ),
            _statement(
                "TagBalancersOnCreate",
                ["elasticloadbalancing:AddTags"],
                balancers,
                StringEquals={
                    "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"],
                    f"aws:RequestTag/{CLUSTER_TAG}": cluster_name,
                },
            ),
            _statement(
                "ManageOwnBalancers",
                [
                    "elasticloadbalancing:AddTags",
                    "elasticloadbalancing:RemoveTags",
                    "elasticloadbalancing:ModifyLoadBalancerAttributes",
                    "elasticloadbalancing:SetIpAddressType",
                    "elasticloadbalancing:SetSecurityGroups",
                    "elasticloadbalancing:SetSubnets",
                    "elasticloadbalancing:DeleteLoadBalancer",
                    "elasticloadbalancing:ModifyTargetGroup",
                    "elasticloadbalancing:ModifyTargetGroupAttributes",
                    "elasticloadbalancing:DeleteTargetGroup",
                    "elasticloadbalancing:RegisterTargets",
                    "elasticloadbalancing:DeregisterTargets",
                    "elasticloadbalancing:CreateListener",
                    "elasticloadbalancing:ModifyCapacityReservation",
                ],
                balancers,
                **own,
            ),
            # Listeners and rules of the account's ALBs in this region (tagged only once created).
            _statement(
                "ManageListeners",
                [
                    "elasticloadbalancing:AddTags",
                    "elasticloadbalancing:RemoveTags",
                    "elasticloadbalancing:DeleteListener",
                    "elasticloadbalancing:ModifyListener",
                    "elasticloadbalancing:ModifyListenerAttributes",
                    "elasticloadbalancing:AddListenerCertificates",
                    "elasticloadbalancing:RemoveListenerCertificates",
                    "elasticloadbalancing:CreateRule",
                ],
                listeners,
            ),
            _statement(
                "ManageListenerRules",
                [
                    "elasticloadbalancing:AddTags",
                    "elasticloadbalancing:RemoveTags",
                    "elasticloadbalancing:DeleteRule",
                    "elasticloadbalancing:ModifyRule",
                    "elasticloadbalancing:SetRulePriorities",
                ],
                rules,
            ),
        ],
    }


def controller_values(args: LoadBalancerArgs, vpc_id: str, role_arn: str) -> dict[str, Any]:
    return {
        "clusterName": args.cluster_name,
        "region": args.region,
        "vpcId": vpc_id,
        "replicaCount": args.replicas,
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT, "annotations": {ROLE_ARN_ANNOTATION: role_arn}},
        "ingressClass": INGRESS_CLASS,
        "createIngressClassResource": True,
        "defaultTargetType": "ip",
        # An Ingress that names no scheme gets an internal ALB (the annotation says so anyway).
        "defaultLoadBalancerScheme": "internal",
        "defaultSSLPolicy": SSL_POLICY,
        # Not used, and not granted: the policy above holds no WAF, Shield or Service (NLB) webhook rights.
        "enableShield": False,
        "enableWaf": False,
        "enableWafv2": False,
        "enableServiceMutatorWebhook": False,
        "nodeSelector": args.system_pool.selector,
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
    }


def ingress_annotations(certificate_arn: str) -> dict[str, str]:
    """What every platform Ingress asks of the controller: one internal ALB shared by the platform's Ingresses,
    HTTPS only with the stack's certificate, traffic straight to the pods."""
    return {
        f"{ALB}scheme": "internal",
        f"{ALB}target-type": "ip",
        f"{ALB}group.name": "rayplat-sso",
        f"{ALB}listen-ports": json.dumps([{"HTTPS": 443}]),
        f"{ALB}certificate-arn": certificate_arn,
        f"{ALB}ssl-policy": SSL_POLICY,
        f"{ALB}healthcheck-path": "/ping",
    }


class LoadBalancerController(pulumi.ComponentResource):
    ingress: IngressSupport

    def __init__(
        self,
        name: str,
        args: LoadBalancerArgs,
        *,
        aws_provider: aws.Provider,
        k8s_provider: k8s.Provider,
        account: AwsAccount,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rayplat:aws:LoadBalancerController", name, None, opts)
        policy = pulumi.Output.all(args.vpc_id, account.account_id, account.partition).apply(
            lambda v: controller_policy(args.cluster_name, v[0], args.certificate_arn, v[1], args.region, v[2])
        )
        role = IrsaRole(
            name,
            IrsaRoleArgs(
                oidc=args.oidc, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT, tags=args.tags, policy=policy
            ),
            provider=aws_provider,
            opts=pulumi.ResourceOptions(parent=self),
        )
        release = pinned_release(
            name,
            versions.AWS_LOAD_BALANCER_CONTROLLER,
            namespace=NAMESPACE,
            values=pulumi.Output.all(args.vpc_id, role.role_arn).apply(lambda v: controller_values(args, v[0], v[1])),
            opts=child_options(self, k8s_provider, opts),
        )
        self.ingress = IngressSupport(INGRESS_CLASS, ingress_annotations(args.certificate_arn), ready=[release])
        self.register_outputs({"role_arn": role.role_arn})
