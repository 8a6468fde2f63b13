"""Plausible values for what a cloud provider computes, so the offline plan resolves like a real `up`.

The mock engine returns only what it is given; without these, ARNs, the EKS endpoint and OIDC issuer,
or a node group's Auto Scaling group would be None and the plan would show nonsense. Every value is
derived from the resource's type and name, so plans are reproducible. This is the one table of them.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ACCOUNT_ID = "123456789012"
PARTITION = "aws"

Inputs = dict[str, Any]


@dataclass(frozen=True)
class Site:
    """Where the stack runs, as its config says: computed names and ARNs embed it."""

    region: str
    project: str = "rayplat-plan"


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


def _prefixed_id(prefix: str) -> Callable[[str, str, Inputs, Site], Inputs]:
    def outputs(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
        id_ = f"{prefix}-{digest(type_, name)}"
        return {"id": id_, "arn": _regional_arn("ec2", site.region, f"{prefix}/{id_}")}

    return outputs


def _iam_named(kind: str) -> Callable[[str, str, Inputs, Site], Inputs]:
    def outputs(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
        physical = physical_name(type_, name, inputs)
        return {"id": physical, "name": physical, "arn": _global_arn("iam", f"{kind}/{physical}")}

    return outputs


def _bucket(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    bucket = physical_name(type_, name, inputs, key="bucket")
    return {
        "id": bucket,
        "bucket": bucket,
        "arn": f"arn:{PARTITION}:s3:::{bucket}",
        "bucketRegionalDomainName": f"{bucket}.s3.{site.region}.amazonaws.com",
        "region": site.region,
    }


def _kms_key(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    key_id = "{}-{}-{}-{}-{}".format(*(digest(type_, name, str(i), length=n) for i, n in enumerate((8, 4, 4, 4, 12))))
    return {"id": key_id, "keyId": key_id, "arn": _regional_arn("kms", site.region, f"key/{key_id}")}


def _eks_cluster(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    cluster = physical_name(type_, name, inputs)
    oidc_id = digest(type_, name, "oidc", length=32).upper()
    return {
        "id": cluster,
        "name": cluster,
        "arn": _regional_arn("eks", site.region, f"cluster/{cluster}"),
        "endpoint": f"https://{oidc_id}.gr7.{site.region}.eks.amazonaws.com",
        "certificateAuthority": {"data": base64.b64encode(f"mock CA of {cluster}".encode()).decode()},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{site.region}.amazonaws.com/id/{oidc_id}"}]}],
        "status": "ACTIVE",
        "vpcConfig": {
            **(inputs.get("vpcConfig") or {}),
            "clusterSecurityGroupId": f"sg-{digest(type_, name, 'cluster-sg', length=17)}",
        },
    }


def _sqs_queue(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    queue = physical_name(type_, name, inputs)
    return {
        "id": f"https://sqs.{site.region}.amazonaws.com/{ACCOUNT_ID}/{queue}",
        "name": queue,
        "url": f"https://sqs.{site.region}.amazonaws.com/{ACCOUNT_ID}/{queue}",
        "arn": _regional_arn("sqs", site.region, queue),
    }


def _replication_group(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    group = physical_name(type_, name, inputs, key="replicationGroupId")
    suffix = digest(type_, name, "endpoint", length=6)
    return {"id": group, "primaryEndpointAddress": f"master.{group}.{suffix}.{site.region}.cache.amazonaws.com"}


def _oidc_provider(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    issuer = inputs["url"].removeprefix("https://")
    return {"id": issuer, "arn": _global_arn("iam", f"oidc-provider/{issuer}")}


def _node_group(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    group = physical_name(type_, name, inputs, key="nodeGroupName")
    uuid = digest(type_, name, "asg", length=32)
    asg = f"eks-{group}-{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:]}"
    return {
        "id": f"{inputs.get('clusterName')}:{group}",
        "nodeGroupName": group,
        "arn": _regional_arn("eks", site.region, f"nodegroup/{inputs.get('clusterName')}/{group}/{uuid}"),
        "resources": [{"autoscalingGroups": [{"name": asg}]}],
        "status": "ACTIVE",
    }


def _launch_template(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    id_ = f"lt-{digest(type_, name)}"
    return {
        "id": id_,
        "arn": _regional_arn("ec2", site.region, f"launch-template/{id_}"),
        "latestVersion": 1,
        "defaultVersion": 1,
    }


def _log_group(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    group = physical_name(type_, name, inputs)
    return {"id": group, "arn": _regional_arn("logs", site.region, f"log-group:{group}")}


def _sns_topic(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    arn = _regional_arn("sns", site.region, physical_name(type_, name, inputs))
    return {"id": arn, "arn": arn}


def _anomaly_monitor(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    arn = _global_arn("ce", f"anomalymonitor/{digest(type_, name, length=8)}-{digest(type_, name, 'm', length=4)}")
    return {"id": arn, "arn": arn}


def _gcp_self_link(kind: str, scope: str, physical: str, site: Site) -> Inputs:
    id_ = f"projects/{site.project}/{scope}/{kind}/{physical}"
    return {"id": id_, "name": physical, "selfLink": f"https://www.googleapis.com/compute/v1/{id_}"}


def _gcp_network(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    return _gcp_self_link("networks", "global", physical_name(type_, name, inputs), site)


def _gcp_regional(kind: str) -> Callable[[str, str, Inputs, Site], Inputs]:
    def outputs(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
        return _gcp_self_link(kind, f"regions/{site.region}", physical_name(type_, name, inputs), site)

    return outputs


def _gcp_service_account(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    project = inputs.get("project") or site.project
    email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
    return {
        "id": f"projects/{project}/serviceAccounts/{email}",
        "name": f"projects/{project}/serviceAccounts/{email}",
        "email": email,
        "member": f"serviceAccount:{email}",
        "uniqueId": str(int(digest(type_, name, length=12), 16)),
    }


def _gke_cluster(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    cluster = physical_name(type_, name, inputs)
    octets = [int(digest(type_, name, str(i), length=2), 16) for i in range(2)]
    return {
        "id": f"projects/{site.project}/locations/{site.region}/clusters/{cluster}",
        "name": cluster,
        "endpoint": f"34.118.{octets[0]}.{octets[1]}",
        "masterAuth": {
            **inputs.get("masterAuth", {}),
            "clusterCaCertificate": base64.b64encode(f"mock CA of {cluster}".encode()).decode(),
        },
        "selfLink": f"https://container.googleapis.com/v1/projects/{site.project}/locations/{site.region}/clusters/{cluster}",
    }


def _gke_node_pool(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    pool = physical_name(type_, name, inputs)
    return {"id": f"{inputs.get('cluster')}/nodePools/{pool}", "name": pool}


def _gcs_bucket(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    bucket = physical_name(type_, name, inputs)
    return {
        "id": bucket,
        "name": bucket,
        "url": f"gs://{bucket}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}",
    }


def _kms_key_ring(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    project = inputs.get("project") or site.project
    ring = physical_name(type_, name, inputs)
    return {"id": f"projects/{project}/locations/{inputs.get('location')}/keyRings/{ring}", "name": ring}


def _kms_crypto_key(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    key = physical_name(type_, name, inputs)
    return {"id": f"{inputs.get('keyRing')}/cryptoKeys/{key}", "name": key}


def _gcp_project(project: str) -> Inputs:
    number = str(int(digest("project", project, length=10), 16) % 10**12).rjust(12, "1")
    return {"id": f"projects/{project}", "projectId": project, "name": project, "number": number}


def _random_password(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    length = int(inputs.get("length", 16))
    return {"id": "none", "result": (digest(type_, name, length=64) * 2)[:length]}


def _amp_workspace(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    workspace = f"ws-{digest(type_, name, length=8)}-{digest(type_, name, 'ws', length=4)}"
    return {
        "id": workspace,
        "arn": _regional_arn("aps", site.region, f"workspace/{workspace}"),
        "prometheusEndpoint": f"https://aps-workspaces.{site.region}.amazonaws.com/workspaces/{workspace}/",
    }


def _named(type_: str, name: str, inputs: Inputs, site: Site) -> Inputs:
    physical = physical_name(type_, name, inputs)
    return {"id": physical}


RESOURCE_OUTPUTS: dict[str, Callable[[str, str, Inputs, Site], Inputs]] = {
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
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:amp/workspace:Workspace": _amp_workspace,
    "aws:sns/topic:Topic": _sns_topic,
    "aws:costexplorer/anomalyMonitor:AnomalyMonitor": _anomaly_monitor,
    "aws:sqs/queue:Queue": _sqs_queue,
    "gcp:compute/network:Network": _gcp_network,
    "gcp:compute/subnetwork:Subnetwork": _gcp_regional("subnetworks"),
    "gcp:compute/router:Router": _gcp_regional("routers"),
    "gcp:serviceaccount/account:Account": _gcp_service_account,
    "gcp:container/cluster:Cluster": _gke_cluster,
    "gcp:container/nodePool:NodePool": _gke_node_pool,
    "gcp:storage/bucket:Bucket": _gcs_bucket,
    "gcp:kms/keyRing:KeyRing": _kms_key_ring,
    "gcp:kms/cryptoKey:CryptoKey": _kms_crypto_key,
    "random:index/randomPassword:RandomPassword": _random_password,
}


def resource_outputs(type_: str, name: str, inputs: Inputs, site: Site) -> tuple[str, Inputs]:
    """(physical id, output state) of a resource: its inputs plus the computed values of its type."""
    computed = RESOURCE_OUTPUTS.get(type_, _named)(type_, name, inputs, site)
    return computed["id"], {**inputs, **computed}


def call_outputs(token: str, args: Inputs, site: Site) -> Inputs:
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
        return {"name": site.region, "region": site.region, "id": site.region}
    if token == "gcp:organizations/getProject:getProject":
        return _gcp_project(args.get("projectId") or site.project)
    raise NotImplementedError(f"the offline plan has no mock for the provider function {token}")
