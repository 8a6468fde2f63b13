"""`rayplat runbook audit`: the live AWS account against what a stack says it should hold.

Checked: the artifact bucket's hardening (components/aws/storage.py), the stack's node groups (scaling and
AMI type against the stack file), the cost tags on its running GPU instances and their volumes (node groups'
and Karpenter's), GPU instances that belong to no node group or Karpenter NodePool of the stack (orphans,
priced by the hour), and the cluster's access entries (team roles without one, entries no team or platform
role declares). AWS endpoint and
credentials come from the usual AWS environment variables (AWS_ENDPOINT_URL, AWS_PROFILE, ...).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3
import botocore.exceptions
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from catalog.aws_instances import GPU_FAMILIES, gpu_instance_type
from catalog.iam import as_list
from catalog.karpenter import NODECLASS_TYPE, NODEPOOL_TAG
from catalog.labels import POOL_LABEL
from catalog.tagging import REQUIRED_COST_TAGS
from rayplat.plan import Plan
from rayplat.runbooks import outputs as stack_outputs
from rayplat.runbooks.progress import Progress, Step, StepFailed

NODE_GROUP_TYPE = "aws:eks/nodeGroup:NodeGroup"
ACCESS_ENTRY_TYPE = "aws:eks/accessEntry:AccessEntry"
# EKS puts these on the instances of a managed node group.
CLUSTER_TAG = "eks:cluster-name"
NODE_GROUP_TAG = "eks:nodegroup-name"
# Karpenter puts these (and its NodePool's name, NODEPOOL_TAG) on the instances it launches.
KARPENTER_CLUSTER_TAG = "eks:eks-cluster-name"
PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
LIVE_STATES = ["pending", "running"]


@dataclass(frozen=True)
class Finding:
    check: str
    resource: str
    message: str
    hourly_usd: float | None = None

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["hourlyUsd"] = document.pop("hourly_usd")
        return document


@dataclass(frozen=True)
class PoolExpectation:
    """One node pool as the stack file describes it (from the offline plan of its node group)."""

    pool: str
    name_prefix: str
    ami_type: str
    min_size: int
    max_size: int
    instance_types: tuple[str, ...]
    cost_tags: Mapping[str, str]


@dataclass(frozen=True)
class StackExpectation:
    stack: str
    region: str
    cluster_name: str
    bucket: str
    kms_key_arn: str | None
    pools: tuple[PoolExpectation, ...]
    # Karpenter NodePools of the stack (named after their pools) -> the cost tags their EC2NodeClass sets.
    nodepools: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # The access entries the stack declares: principal ARN -> its Kubernetes groups (none for platform roles).
    access: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_stack(cls, plan: Plan, outputs: Mapping[str, Any]) -> StackExpectation:
        """Names from the deployed stack's outputs, the desired state from the stack file's plan."""
        if outputs.get("cloud") != "aws":
            raise stack_outputs.OutputsError(f"the audit covers AWS stacks; {plan.stack} is '{outputs.get('cloud')}'")
        stack_outputs.require(dict(outputs), "region", "clusterName", "artifactBucket")
        key = outputs.get("artifactKmsKeyArn")
        return cls(
            stack=plan.stack,
            region=outputs["region"],
            cluster_name=outputs["clusterName"],
            bucket=outputs["artifactBucket"],
            kms_key_arn=key if isinstance(key, str) and key.startswith("arn:") else None,
            pools=tuple(_pool(r.inputs) for r in plan.of_type(NODE_GROUP_TYPE)),
            nodepools={
                r.inputs["metadata"]["name"]: _cost_tags(r.inputs["spec"]["tags"]) for r in plan.of_type(NODECLASS_TYPE)
            },
            access={
                r.inputs["principalArn"]: tuple(r.inputs.get("kubernetesGroups") or ())
                for r in plan.of_type(ACCESS_ENTRY_TYPE)
            },
        )


def _pool(inputs: Mapping[str, Any]) -> PoolExpectation:
    scaling = inputs["scalingConfig"]
    return PoolExpectation(
        pool=inputs["labels"][POOL_LABEL],
        name_prefix=inputs["nodeGroupNamePrefix"],
        ami_type=inputs["amiType"],
        min_size=scaling["minSize"],
        max_size=scaling["maxSize"],
        instance_types=tuple(inputs["instanceTypes"]),
        cost_tags=_cost_tags(inputs["tags"]),
    )


def _cost_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {key: tags[key] for key in REQUIRED_COST_TAGS if key in tags}


@dataclass
class AuditResult:
    stack: str
    region: str
    steps: list[Step]
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.findings

    @property
    def orphan_hourly_usd(self) -> float:
        return round(sum(f.hourly_usd or 0 for f in self.findings if f.check == "orphan-gpu-instance"), 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "stack": self.stack,
            "region": self.region,
            "steps": [step.to_dict() for step in self.steps],
            "findings": [finding.to_dict() for finding in self.findings],
            "orphanHourlyUsd": self.orphan_hourly_usd,
            "error": self.error,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def print_text(result: AuditResult, console: Console) -> None:
    """The findings as a table, then one summary line."""
    where = f"stack {result.stack} in {result.region}"
    if result.error is not None:
        console.print(f"[bold red]audit incomplete[/] ({escape(where)}): {escape(result.error)}", highlight=False)
    if not result.findings:
        if result.error is None:
            console.print(f"[green]no findings[/]: the account matches {escape(where)}", highlight=False)
        return
    table = Table(title=f"{len(result.findings)} finding(s), {escape(where)}", title_justify="left")
    for column in ("check", "resource", "finding"):
        table.add_column(column)
    for finding in result.findings:
        table.add_row(*map(Text, (finding.check, finding.resource, finding.message)))
    console.print(table)
    if result.orphan_hourly_usd:
        console.print(f"orphaned GPU instances cost ${result.orphan_hourly_usd:.3f}/h", highlight=False)


CHECKS = ("node groups", "GPU instances", "artifact bucket", "access entries")


def run_audit(
    expected: StackExpectation,
    progress: Progress,
    session: boto3.session.Session | None = None,
    skip: frozenset[str] = frozenset(),
) -> AuditResult:
    account = Account(expected, session or boto3.session.Session(region_name=expected.region))
    result = AuditResult(expected.stack, expected.region, progress.steps)
    methods = (
        account.node_group_findings,
        account.gpu_instance_findings,
        account.bucket_findings,
        account.access_entry_findings,
    )
    checks = [(name, method) for name, method in zip(CHECKS, methods, strict=True) if name not in skip]
    try:
        for name, check in checks:
            with progress.step(name) as step:
                found = _aws(name, check)
                step.detail = f"{len(found)} finding(s)" if found else "as the stack says"
                step.ok = not found
            result.findings += found
    except StepFailed as exc:
        result.error = str(exc)
    return result


def _aws(name: str, check: Callable[[], list[Finding]]) -> list[Finding]:
    try:
        return check()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise StepFailed(f"cannot audit the {name}: {exc}") from None


def _error_code(exc: botocore.exceptions.ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _tags(resource: Mapping[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}


def _is_gpu(instance_type: str) -> bool:
    return instance_type.split(".", 1)[0] in GPU_FAMILIES


class Account:
    """The AWS account as the stack's audit sees it; each ``*_findings`` method is one check."""

    def __init__(self, expected: StackExpectation, session: boto3.session.Session):
        self.expected = expected
        self.s3 = session.client("s3")
        self.ec2 = session.client("ec2")
        self.eks = session.client("eks")
        self.iam = session.client("iam")
        # The stack's live node groups (name -> pool), set by node_group_findings.
        self.stack_groups: dict[str, PoolExpectation] = {}
        self._other_clusters: dict[str, set[str]] = {}
        self._live_clusters: dict[str, bool] = {}

    # Node groups: scaling, AMI type and instance types against the stack file.

    def node_group_findings(self) -> list[Finding]:
        cluster = self.expected.cluster_name
        names = self._node_group_names(cluster)
        if names is None:
            return [
                Finding("cluster-missing", cluster, f"EKS cluster {cluster} does not exist in {self.expected.region}")
            ]
        findings = []
        for group in (self._describe_node_group(name) for name in names):
            pool = self._pool_of(group)
            if pool is None:
                message = f"node group {group['nodegroupName']} belongs to no pool of stack {self.expected.stack}"
                findings.append(Finding("nodegroup-unknown", group["nodegroupName"], message))
                continue
            self.stack_groups[group["nodegroupName"]] = pool
            findings += _drift(group, pool)
        found_pools = {pool.pool for pool in self.stack_groups.values()}
        findings += [
            Finding(
                "nodegroup-missing",
                pool.pool,
                f"pool {pool.pool} has no node group in cluster {cluster} (a name starting '{pool.name_prefix}')",
            )
            for pool in self.expected.pools
            if pool.pool not in found_pools
        ]
        return findings

    def _node_group_names(self, cluster: str) -> list[str] | None:
        """The cluster's node groups; None when there is no such cluster."""
        try:
            self.eks.describe_cluster(name=cluster)
        except self.eks.exceptions.ResourceNotFoundException:
            return None
        pages = self.eks.get_paginator("list_nodegroups").paginate(clusterName=cluster)
        return [name for page in pages for name in page["nodegroups"]]

    def _describe_node_group(self, name: str) -> dict[str, Any]:
        return self.eks.describe_nodegroup(clusterName=self.expected.cluster_name, nodegroupName=name)["nodegroup"]

    def _pool_of(self, group: Mapping[str, Any]) -> PoolExpectation | None:
        """By the pool label the platform puts on its node groups, else by the longest matching name prefix."""
        pools = {pool.pool: pool for pool in self.expected.pools}
        label = (group.get("labels") or {}).get(POOL_LABEL)
        if label in pools:
            return pools[label]
        matching = [pool for pool in pools.values() if group["nodegroupName"].startswith(pool.name_prefix)]
        return max(matching, key=lambda pool: len(pool.name_prefix), default=None)

    # Access entries: each declared team role has its entry into its group; no entry is undeclared.

    def access_entry_findings(self) -> list[Finding]:
        cluster, declared = self.expected.cluster_name, self.expected.access
        pages = self.eks.get_paginator("list_access_entries").paginate(clusterName=cluster)
        live = {
            arn: self.eks.describe_access_entry(clusterName=cluster, principalArn=arn)["accessEntry"]
            for page in pages
            for arn in page["accessEntries"]
        }
        findings = []
        for arn, groups in declared.items():
            if not groups:
                continue
            if not self._role_exists(arn):
                findings.append(Finding("team-role-missing", arn, f"team role {arn} does not exist in the account"))
            elif arn not in live:
                message = f"team role {arn} has no access entry: its users are not in group {', '.join(groups)}"
                findings.append(Finding("team-access-missing", arn, message))
            elif tuple(live[arn].get("kubernetesGroups") or ()) != groups:
                found = ", ".join(live[arn].get("kubernetesGroups") or ()) or "none"
                message = f"the access entry maps {arn} to group(s) {found}, not {', '.join(groups)}"
                findings.append(Finding("team-access-drift", arn, message))
        findings += [
            Finding("access-entry-undeclared", arn, f"access entry for {arn} is declared by no team or platform role")
            for arn, entry in live.items()
            if entry.get("type", "STANDARD") == "STANDARD" and arn not in declared
        ]
        return findings

    def _role_exists(self, arn: str) -> bool:
        try:
            self.iam.get_role(RoleName=arn.rsplit("/", 1)[-1])
        except self.iam.exceptions.NoSuchEntityException:
            return False
        return True

    # GPU instances: cost tags on the stack's, and the orphans.

    def gpu_instance_findings(self) -> list[Finding]:
        findings = []
        for instance in self._live_gpu_instances():
            tags = _tags(instance)
            cluster, group = tags.get(CLUSTER_TAG), tags.get(NODE_GROUP_TAG)
            nodepool = tags.get(NODEPOOL_TAG)
            if cluster == self.expected.cluster_name and group in self.stack_groups:
                pool = self.stack_groups[group]
                findings += self._cost_tag_findings(instance, pool.pool, pool.cost_tags)
            elif nodepool and tags.get(KARPENTER_CLUSTER_TAG) == self.expected.cluster_name:
                if nodepool in self.expected.nodepools:
                    findings += self._cost_tag_findings(instance, nodepool, self.expected.nodepools[nodepool])
                else:
                    findings.append(self._orphan(instance, tags))
            elif not self._in_other_live_node_group(cluster, group) and not self._of_other_live_cluster(tags):
                findings.append(self._orphan(instance, tags))
        return findings

    def _of_other_live_cluster(self, tags: Mapping[str, str]) -> bool:
        """A Karpenter instance of another live cluster belongs to that cluster's stack."""
        cluster = tags.get(KARPENTER_CLUSTER_TAG)
        if not tags.get(NODEPOOL_TAG) or not cluster or cluster == self.expected.cluster_name:
            return False
        if cluster not in self._live_clusters:
            try:
                self.eks.describe_cluster(name=cluster)
                self._live_clusters[cluster] = True
            except self.eks.exceptions.ResourceNotFoundException:
                self._live_clusters[cluster] = False
        return self._live_clusters[cluster]

    def _live_gpu_instances(self) -> Iterator[dict[str, Any]]:
        pages = self.ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "instance-state-name", "Values": LIVE_STATES}]
        )
        for page in pages:
            for reservation in page["Reservations"]:
                yield from (i for i in reservation["Instances"] if _is_gpu(i["InstanceType"]))

    def _in_other_live_node_group(self, cluster: str | None, group: str | None) -> bool:
        """An instance of another cluster's live node group belongs to that cluster's stack."""
        if not cluster or not group or cluster == self.expected.cluster_name:
            return False
        if cluster not in self._other_clusters:
            self._other_clusters[cluster] = set(self._node_group_names(cluster) or [])
        return group in self._other_clusters[cluster]

    def _orphan(self, instance: Mapping[str, Any], tags: Mapping[str, str]) -> Finding:
        instance_id, instance_type = instance["InstanceId"], instance["InstanceType"]
        known = gpu_instance_type(instance_type)
        price = f"${known.hourly_usd:.3f}/h" if known else "price unknown"
        keys = (CLUSTER_TAG, NODE_GROUP_TAG, KARPENTER_CLUSTER_TAG, NODEPOOL_TAG, "team", "owner")
        owner = ", ".join(f"{key}={tags[key]}" for key in keys if key in tags)
        return Finding(
            "orphan-gpu-instance",
            instance_id,
            f"GPU instance {instance_id} ({instance_type}, {price}, launched {instance['LaunchTime']:%Y-%m-%d %H:%M}) "
            f"belongs to no node group or NodePool of stack {self.expected.stack} ({owner or 'no owner tags'})",
            known.hourly_usd if known else None,
        )

    def _cost_tag_findings(self, instance: Mapping[str, Any], pool: str, cost_tags: Mapping[str, str]) -> list[Finding]:
        instance_id = instance["InstanceId"]
        findings = []
        problems = _tag_problems(_tags(instance), cost_tags)
        if problems:
            message = f"GPU instance {instance_id} (pool {pool}): {problems}"
            findings.append(Finding("instance-cost-tags", instance_id, message))
        for volume in self._volumes(instance):
            problems = _tag_problems(_tags(volume), cost_tags)
            if problems:
                message = f"volume {volume['VolumeId']} of GPU instance {instance_id} (pool {pool}): {problems}"
                findings.append(Finding("volume-cost-tags", volume["VolumeId"], message))
        return findings

    def _volumes(self, instance: Mapping[str, Any]) -> list[dict[str, Any]]:
        ids = [m["Ebs"]["VolumeId"] for m in instance.get("BlockDeviceMappings", []) if "Ebs" in m]
        return self.ec2.describe_volumes(VolumeIds=ids)["Volumes"] if ids else []

    # The artifact bucket: components/aws/storage.py's hardening.

    def bucket_findings(self) -> list[Finding]:
        bucket = self.expected.bucket
        try:
            self.s3.head_bucket(Bucket=bucket)
        except botocore.exceptions.ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                return [Finding("bucket-missing", bucket, f"bucket {bucket} does not exist")]
            raise
        return [*self._encryption(), *self._public_access_block(), *self._versioning(), *self._tls_policy()]

    def _bucket_finding(self, check: str, problem: str) -> Finding:
        return Finding(check, self.expected.bucket, f"bucket {self.expected.bucket} {problem}")

    def _encryption(self) -> list[Finding]:
        bucket = self.expected.bucket
        try:
            config = self.s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
        except botocore.exceptions.ClientError as exc:
            if _error_code(exc) != "ServerSideEncryptionConfigurationNotFoundError":
                raise
            return [self._bucket_finding("bucket-encryption", "has no default encryption; the stack requires SSE-KMS")]
        rules = config["Rules"]
        kms = [r for r in rules if r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"]
        if not kms:
            algorithms = ", ".join(r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules)
            return [
                self._bucket_finding("bucket-encryption", f"encrypts with {algorithms}; the stack requires SSE-KMS")
            ]
        problems = []
        if not kms[0].get("BucketKeyEnabled"):
            problems.append("has the S3 bucket key off, so that every object operation calls KMS")
        key = kms[0]["ApplyServerSideEncryptionByDefault"].get("KMSMasterKeyID", "")
        if self.expected.kms_key_arn and not _same_key(key, self.expected.kms_key_arn):
            problems.append(
                f"encrypts with key {key or '(the AWS managed key)'}, not the stack's {self.expected.kms_key_arn}"
            )
        return [self._bucket_finding("bucket-encryption", problem) for problem in problems]

    def _public_access_block(self) -> list[Finding]:
        try:
            config = self.s3.get_public_access_block(Bucket=self.expected.bucket)["PublicAccessBlockConfiguration"]
        except botocore.exceptions.ClientError as exc:
            if _error_code(exc) != "NoSuchPublicAccessBlockConfiguration":
                raise
            config = {}
        off = [flag for flag in PUBLIC_ACCESS_FLAGS if not config.get(flag)]
        if not off:
            return []
        return [self._bucket_finding("bucket-public-access", f"has the public access block off for {', '.join(off)}")]

    def _versioning(self) -> list[Finding]:
        status = self.s3.get_bucket_versioning(Bucket=self.expected.bucket).get("Status")
        if status == "Enabled":
            return []
        state = f"is {status}" if status else "was never enabled"
        return [self._bucket_finding("bucket-versioning", f"versioning {state}; the stack requires Enabled")]

    def _tls_policy(self) -> list[Finding]:
        try:
            policy = json.loads(self.s3.get_bucket_policy(Bucket=self.expected.bucket)["Policy"])
        except botocore.exceptions.ClientError as exc:
            if _error_code(exc) != "NoSuchBucketPolicy":
                raise
            policy = {}
        if any(_denies_plain_http(statement, self.expected.bucket) for statement in _statements(policy)):
            return []
        return [
            self._bucket_finding(
                "bucket-tls-policy", "policy does not deny s3:* without TLS (aws:SecureTransport=false)"
            )
        ]


def _drift(group: Mapping[str, Any], pool: PoolExpectation) -> list[Finding]:
    name = group["nodegroupName"]
    where = f"node group {name} (pool {pool.pool})"
    scaling = group.get("scalingConfig", {})
    live = (scaling.get("minSize"), scaling.get("maxSize"))
    findings = []
    if live != (pool.min_size, pool.max_size):
        message = f"{where} scales {live[0]}..{live[1]} nodes; the stack says {pool.min_size}..{pool.max_size}"
        findings.append(Finding("nodegroup-scaling", name, message))
    if group.get("amiType") != pool.ami_type:
        message = f"{where} runs AMI type {group.get('amiType')}; the stack says {pool.ami_type}"
        findings.append(Finding("nodegroup-ami-type", name, message))
    live_types = group.get("instanceTypes") or []
    if sorted(live_types) != sorted(pool.instance_types):
        message = f"{where} runs {', '.join(live_types)}; the stack says {', '.join(pool.instance_types)}"
        findings.append(Finding("nodegroup-instance-types", name, message))
    return findings


def _tag_problems(tags: Mapping[str, str], expected: Mapping[str, str]) -> str:
    """What is wrong with a resource's cost tags, in one line; empty when nothing is."""
    missing = [key for key in REQUIRED_COST_TAGS if key not in tags]
    wrong = [
        f"{key} is '{tags[key]}', the stack says '{value}'"
        for key, value in expected.items()
        if tags.get(key, value) != value
    ]
    problems = [f"missing cost tag(s) {', '.join(missing)}"] if missing else []
    return "; ".join(problems + wrong)


def _same_key(configured: str, key_arn: str) -> bool:
    """A bucket's key may be named by ARN or by key id."""
    return configured == key_arn or key_arn.endswith(f"/{configured}")


def _statements(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _denies_plain_http(statement: Mapping[str, Any], bucket: str) -> bool:
    """Deny s3:* to everyone on the bucket and its objects when aws:SecureTransport is false."""
    secure_transport = statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
    principal = statement.get("Principal")
    resources = {str(r).rsplit(":", 1)[-1] for r in as_list(statement.get("Resource", []))}
    return (
        statement.get("Effect") == "Deny"
        and principal in ("*", {"AWS": "*"})
        and "s3:*" in as_list(statement.get("Action", []))
        and [str(v).lower() for v in as_list(secure_transport)] == ["false"]
        and {bucket, f"{bucket}/*"} <= resources
    )
