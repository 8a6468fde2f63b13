"""IAM policy documents as pure functions: every grant the platform makes is readable (and tested) here."""

from __future__ import annotations

from typing import Any

Document = dict[str, Any]

OBJECT_READ_WRITE_ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
]
KMS_DATA_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


def _document(*statements: Document) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def assume_role_by_service(service: str) -> Document:
    return _document({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def irsa_trust(oidc_provider_arn: str, issuer_url: str, namespace: str, service_account: str) -> Document:
    """Trust one Kubernetes service account, and only for tokens minted for STS."""
    issuer = issuer_url.removeprefix("https://")
    return _document(
        {
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                    f"{issuer}:aud": "sts.amazonaws.com",
                }
            },
        }
    )


def artifact_access(bucket_arn: str, key_arn: str, prefix: str | None = None) -> Document:
    """Read and write objects in the artifact bucket (under ``prefix`` only, when given) and use its key."""
    objects = f"{bucket_arn}/{prefix.strip('/')}/*" if prefix else f"{bucket_arn}/*"
    list_bucket: Document = {
        "Sid": "ListArtifacts",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": bucket_arn,
    }
    if prefix:
        list_bucket["Condition"] = {"StringLike": {"s3:prefix": [f"{prefix.strip('/')}/*"]}}
    return _document(
        {"Sid": "LocateBucket", "Effect": "Allow", "Action": "s3:GetBucketLocation", "Resource": bucket_arn},
        list_bucket,
        {"Sid": "ReadWriteArtifacts", "Effect": "Allow", "Action": OBJECT_READ_WRITE_ACTIONS, "Resource": objects},
        {"Sid": "UseArtifactKey", "Effect": "Allow", "Action": KMS_DATA_KEY_ACTIONS, "Resource": key_arn},
    )


def remote_write(workspace_arn: str) -> Document:
    """Write samples into one Amazon Managed Prometheus workspace, and nothing else."""
    return _document({"Sid": "RemoteWrite", "Effect": "Allow", "Action": "aps:RemoteWrite", "Resource": workspace_arn})


def deny_insecure_transport(bucket_arn: str) -> Document:
    return _document(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


def cluster_autoscaler(cluster_name: str, account_id: str, region: str, partition: str = "aws") -> Document:
    """What cluster-autoscaler needs: read the groups, and resize only this cluster's groups."""
    group_arn = f"arn:{partition}:autoscaling:{region}:{account_id}:autoScalingGroup:*:autoScalingGroupName/*"
    nodegroup_arn = f"arn:{partition}:eks:{region}:{account_id}:nodegroup/{cluster_name}/*/*"
    return _document(
        {
            "Sid": "DescribeScalingInputs",
            "Effect": "Allow",
            "Action": [
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
            ],
            # These describe calls support no resource-level permissions.
            "Resource": "*",
        },
        {
            "Sid": "DescribeOwnNodegroups",
            "Effect": "Allow",
            "Action": "eks:DescribeNodegroup",
            "Resource": nodegroup_arn,
        },
        {
            "Sid": "ResizeOwnGroups",
            "Effect": "Allow",
            "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
            "Resource": group_arn,
            "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
        },
    )
