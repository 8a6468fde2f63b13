"""Plausible values for what a cloud provider computes, so the offline plan resolves like a real `up`.

The mock engine returns only what it is given; without these, ARNs, the EKS endpoint and OIDC issuer,
or a node group's Auto Scaling group would be None and the plan would show nonsense. Every value is
derived from the resource's type and name, so plans are reproducible. This is the one table of them.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

ACCOUNT_ID = "123456789012"
PARTITION = "aws"

Inputs = dict[str, Any]


def digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def physical_name(type_: str, name: str, inputs: Inputs, key: str = "name") -> str:
    """The name the provider would give: the explicit one, else Pulumi's auto-name (logical name + suffix)."""
    if inputs.get(key):
        return inputs[key]
    prefix = inputs.get(f"{key}Prefix")
    return f"{prefix}{digest(type_, name, length=8)}" if prefix else f"{name}-{digest(type_, name, length=7)}"


def _regional_arn(service: str, region: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT_ID}:{resource}"


def _global_arn(service: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}::{ACCOUNT_ID}:{resource}"


def _prefixed_id(prefix: str) -> Callable[[str, str, Inputs, str], Inputs]:
    def outputs(type_: str, name: str, inputs: Inputs, region: str) -> Inputs:
        id_ = f"{prefix}-{digest(type_, name)}"
        return {"id": id_, "arn": _regional_arn("ec2", region, f"{prefix}/{id_}")}

    return outputs


def _iam_named(kind: str) -> Callable[[str, str, Inputs, str], Inputs]:
    def outputs(type_: str, name: str, inputs: Inputs, region: str) -> Inputs:
        physical = physical_name(type_, name, inputs)
        return {"id": physical, "name": physical, "arn": _global_arn("iam", f"{kind}/{physical}")}

    return outputs


def _bucket(type_: str, name: str, inputs: Inputs, region: str) -> Inputs:
    bucket = physical_name(type_, name, inputs, key="bucket")
    return {
        "id": bucket,
        "bucket": bucket,
        "arn": f"arn:{PARTITION}:s3:::{bucket}",
        "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
        "region": region,
    }


def _kms_key(type_: str, name: str, inputs: Inputs, region: str) -> Inputs:
    key_id = "{}-{}-{}-{}-{}".format(*(digest(type_, name, str(i), length=n) for i, n in enumerate((8, 4, 4, 4, 12))))
    return {"id": key_id, "keyId": key_id, "arn": _regional_arn("kms", region, f"key/{key_id}")}


def _eks_cluster(type_: str, name: str, inputs: Inputs, region: str) -> Inputs:
    cluster = physical_name(type_, name, inputs)
    oidc_id = digest(type_, name, "oidc", length=32).upper()
    return {
        "id": cluster,
        "name": cluster,
        "arn": _regional_arn("eks", region, f"cluster/{cluster}"),
        "endpoint": f"https://{oidc_id}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": base64.b64encode(f"mock CA of {cluster}".encode()).decode()},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{oidc_id}"}]}],
        "status": "ACTIVE",
    }


def _oidc_provider(type_: str, name: str, inputs: Inputs, region: str) -> Inputs:
    issuer = inputs["url"].removeprefix("https://")
    return {"id": issuer, "arn": _global_arn("iam", f"oidc-provider/{issuer}")}


def _node_group(type_: str, name: str, inputs: Inputs, region: str) -> Inputs:
    group = physical_name(type_, name, inputs, key="nodeGroupName")
    uuid = digest(type_, name, "asg", length=32)
    asg = f"eks-{group}-{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:]}"
    return {
        "id": f"{inputs.get('clusterName')}:{group}",
        "nodeGroupName": group,
        "arn": _regional_arn("eks", region, f"nodegroup/{inputs.get('clusterName')}/{group}/{uuid}"),
        "resources": [{"autoscalingGroups": [{"name": asg}]}],
        "status": "ACTIVE",
    }


def _launch_template(type_: str, name: str, inputs: Inputs, region: str) -> Inputs:
    id_ = f"lt-{digest(type_, name)}"
    return {
        "id": id_,
        "arn": _regional_arn("ec2", region, f"launch-template/{id_}"),
        "latestVersion": 1,
        "defaultVersion": 1,
    }


def _log_group(type_: str, name: str, inputs: Inputs, region: str) -> Inputs:
    group = physical_name(type_, name, inputs)
    return {"id": group, "arn": _regional_arn("logs", region, f"log-group:{group}")}


def _named(type_: str, name: str, inputs: Inputs, region: str) -> Inputs:
    physical = physical_name(type_, name, inputs)
    return {"id": physical}


RESOURCE_OUTPUTS: dict[str, Callable[[str, str, Inputs, str], Inputs]] = {
    "aws:ec2/vpc:Vpc": _prefixed_id("vpc"),
    "aws:ec2/subnet:Subnet": _prefixed_id("subnet"),
    "aws:ec2/internetGateway:InternetGateway": _prefixed_id("igw"),
    "aws:ec2/natGateway:NatGateway": _prefixed_id("nat"),
    "aws:ec2/eip:Eip": _prefixed_id("eipalloc"),
    "aws:ec2/routeTable:RouteTable": _prefixed_id("rtb"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _prefixed_id("rtbassoc"),
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:iam/role:Role": _iam_named("role"),
    "aws:iam/policy:Policy": _iam_named("policy"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:kms/key:Key": _kms_key,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
}


def resource_outputs(type_: str, name: str, inputs: Inputs, region: str) -> tuple[str, Inputs]:
    """(physical id, output state) of a resource: its inputs plus the computed values of its type."""
    computed = RESOURCE_OUTPUTS.get(type_, _named)(type_, name, inputs, region)
    return computed["id"], {**inputs, **computed}


def call_outputs(token: str, args: Inputs, region: str) -> Inputs:
    """Results of provider functions (invokes). An unknown one is an error, never a silent empty result."""
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {
            "accountId": ACCOUNT_ID,
            "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/plan",
            "userId": "AIDAPLAN",
            "id": ACCOUNT_ID,
        }
    if token == "aws:index/getPartition:getPartition":
        return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION}
    if token == "aws:index/getRegion:getRegion":
        return {"name": region, "region": region, "id": region}
    raise NotImplementedError(f"the offline plan has no mock for the provider function {token}")
