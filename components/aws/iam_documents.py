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
# Managing a key, never using it: the administrators of a key cannot decrypt with it by this grant alone.
KEY_ADMINISTRATION_ACTIONS = [
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:ListKeyPolicies",
    "kms:PutKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:ListKeyRotations",
    "kms:RotateKeyOnDemand",
    "kms:UpdateKeyDescription",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:ListResourceTags",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:ListGrants",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
]


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


def account_root(account_id: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:root"


def _key_administration(account_id: str, admin_role_arn: str, partition: str) -> Document:
    """Who may manage a key (in a key policy, ``Resource: *`` is the key itself).

    The cluster admin role from config administers the key by this policy alone. The account root is kept
    beside it, for administration only, as AWS's default key policy recommends: the root cannot be deleted,
    so the key never becomes unmanageable if the admin role is, and it lets IAM policies delegate
    administration, which the deploying identity needs (KMS refuses a key policy that would lock out the
    principal creating it). Neither principal may use the key by this statement."""
    return {
        "Sid": "KeyAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": [account_root(account_id, partition), admin_role_arn]},
        "Action": KEY_ADMINISTRATION_ACTIONS,
        "Resource": "*",
    }


def secrets_key_policy(account_id: str, admin_role_arn: str, cluster_role_arn: str, partition: str = "aws") -> Document:
    """The key that envelope-encrypts a cluster's Kubernetes secrets: used by the EKS cluster role only."""
    return _document(
        _key_administration(account_id, admin_role_arn, partition),
        {
            "Sid": "ClusterEnvelopeEncryption",
            "Effect": "Allow",
            "Principal": {"AWS": cluster_role_arn},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ListGrants"],
            "Resource": "*",
        },
        {
            # CreateCluster makes a grant for EKS on the caller's behalf; only grants to AWS services.
            "Sid": "GrantsToAwsServices",
            "Effect": "Allow",
            "Principal": {"AWS": account_root(account_id, partition)},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    )


def artifact_key_policy(
    account_id: str,
    admin_role_arn: str,
    bucket_arn: str,
    region: str,
    partition: str = "aws",
    dns_suffix: str = "amazonaws.com",
) -> Document:
    """The artifact bucket's key: used only through S3, only for this bucket's objects, only by principals
    of this account whose IAM policy names the key (the Ray IRSA roles, see ``artifact_access``).

    The roles are not named here: they are created later, per team, with policies that name this key, so
    naming them would make the key depend on what depends on it."""
    return _document(
        _key_administration(account_id, admin_role_arn, partition),
        {
            "Sid": "UseThroughS3ForThisBucket",
            "Effect": "Allow",
            "Principal": {"AWS": account_root(account_id, partition)},
            "Action": KMS_DATA_KEY_ACTIONS,
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:ViaService": f"s3.{region}.{dns_suffix}", "kms:CallerAccount": account_id},
                # S3 passes the bucket ARN (bucket keys) or the object ARN as encryption context.
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket_arn, f"{bucket_arn}/*"]},
            },
        },
    )


def log_group_arn(account_id: str, region: str, log_group: str, partition: str = "aws") -> str:
    return f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group}"


def log_key_policy(
    account_id: str,
    admin_role_arn: str,
    log_group: str,
    region: str,
    partition: str = "aws",
    dns_suffix: str = "amazonaws.com",
) -> Document:
    """The key of one CloudWatch log group: CloudWatch Logs may use it for that group's data only."""
    return _document(
        _key_administration(account_id, admin_role_arn, partition),
        {
            "Sid": "CloudWatchLogsForOneGroup",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.{dns_suffix}"},
            "Action": [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
                "kms:GenerateDataKey",
                "kms:GenerateDataKeyWithoutPlaintext",
            ],
            "Resource": "*",
            # CloudWatch Logs passes the log group's ARN as encryption context (a string-typed key).
            "Condition": {
                "StringEquals": {
                    "kms:EncryptionContext:aws:logs:arn": log_group_arn(account_id, region, log_group, partition)
                }
            },
        },
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


def karpenter_controller(
    cluster_name: str, account_id: str, region: str, node_role_arn: str, queue_arn: str, partition: str = "aws"
) -> Document:
    """Karpenter's reference controller policy (v1.x getting-started CloudFormation), in one document:
    launch, tag and terminate only what carries this cluster's ownership tag and a NodePool tag, pass only
    the Karpenter node role, manage only this cluster's instance profiles, read its interruption queue."""
    ec2 = f"arn:{partition}:ec2:{region}"
    profiles = f"arn:{partition}:iam::{account_id}:instance-profile/*"
    owned, in_region = f"kubernetes.io/cluster/{cluster_name}", "topology.kubernetes.io/region"
    launched = [f"{ec2}:*:{kind}/*" for kind in _KARPENTER_LAUNCHED]
    request_owned = {f"aws:RequestTag/{owned}": "owned", "aws:RequestTag/eks:eks-cluster-name": cluster_name}
    resource_owned = {f"aws:ResourceTag/{owned}": "owned"}
    any_nodepool = {"aws:RequestTag/karpenter.sh/nodepool": "*"}
    cluster_arn = f"arn:{partition}:eks:{region}:{account_id}:cluster/{cluster_name}"
    return _document(
        {
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            "Resource": [
                f"{ec2}::image/*",
                f"{ec2}::snapshot/*",
                *(
                    f"{ec2}:*:{kind}/*"
                    for kind in ("security-group", "subnet", "capacity-reservation", "placement-group")
                ),
            ],
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
        },
        {
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Resource": f"{ec2}:*:launch-template/*",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Condition": {"StringEquals": resource_owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}},
        },
        {
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Resource": launched,
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Condition": {"StringEquals": request_owned, "StringLike": any_nodepool},
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Resource": launched,
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": {
                    **request_owned,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": any_nodepool,
            },
        },
        {
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Resource": f"{ec2}:*:instance/*",
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": resource_owned,
                "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        },
        {
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Condition": {"StringEquals": resource_owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}},
        },
        {
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            # These describe calls support no resource-level permissions.
            "Resource": "*",
            "Action": _KARPENTER_DESCRIBE,
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*",
            "Action": "ssm:GetParameter",
        },
        {"Sid": "AllowPricingReadActions", "Effect": "Allow", "Resource": "*", "Action": "pricing:GetProducts"},
        {
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Resource": queue_arn,
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
        },
        {
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Resource": node_role_arn,
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}},
        },
        {
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": "iam:CreateInstanceProfile",
            "Condition": {
                "StringEquals": {**request_owned, f"aws:RequestTag/{in_region}": region},
                "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": "iam:TagInstanceProfile",
            "Condition": {
                "StringEquals": {
                    **resource_owned,
                    f"aws:ResourceTag/{in_region}": region,
                    **request_owned,
                    f"aws:RequestTag/{in_region}": region,
                },
                "StringLike": {
                    "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                    "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
                },
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            "Condition": {
                "StringEquals": {**resource_owned, f"aws:ResourceTag/{in_region}": region},
                "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowInstanceProfileReadActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": "iam:GetInstanceProfile",
        },
        {
            "Sid": "AllowUnscopedInstanceProfileListAction",
            "Effect": "Allow",
            "Resource": "*",
            "Action": "iam:ListInstanceProfiles",
        },
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Resource": cluster_arn,
            "Action": "eks:DescribeCluster",
        },
    )


_KARPENTER_LAUNCHED = ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")
_KARPENTER_DESCRIBE = [
    "ec2:DescribeCapacityReservations",
    "ec2:DescribeImages",
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceStatus",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribePlacementGroups",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSpotPriceHistory",
    "ec2:DescribeSubnets",
]


def interruption_queue_policy(queue_arn: str) -> Document:
    """Only EventBridge (and SQS itself) may send to Karpenter's interruption queue, and only over TLS."""
    return _document(
        {
            "Sid": "EventBridgeSendsInterruptions",
            "Effect": "Allow",
            "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        },
        {
            "Sid": "DenyHTTP",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": queue_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )
