"""`rayplat runbook audit` against moto: a clean account that matches the dev stack has no findings, and each
problem planted in it is found with its own message. In process (moto.mock_aws), and through moto's server."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from typer.testing import CliRunner

from catalog.tagging import REQUIRED_COST_TAGS
from components.aws.iam_documents import deny_insecure_transport
from rayplat.cli import app
from rayplat.plan import Plan
from rayplat.runbooks.audit import ACCESS_ENTRY_TYPE, NODE_GROUP_TYPE, AuditResult, StackExpectation, run_audit
from rayplat.runbooks.outputs import offline_outputs
from rayplat.runbooks.progress import Progress
from tests import processes
from tests.conftest import planned

runner = CliRunner()
STACK = "dev"
OTHER_CLUSTER = "ray-staging"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


class AccessEntries:
    """EKS access entries, which moto does not implement (its answer: 404 Not yet implemented): served to the
    session's EKS clients through botocore's own hooks, as Stubber serves its responses."""

    def __init__(self) -> None:
        self.entries: dict[str, dict] = {}

    def install(self, session: boto3.session.Session) -> None:
        session.events.register("before-parameter-build.eks", self._remember)
        session.events.register("before-call.eks.ListAccessEntries", self._list)
        session.events.register("before-call.eks.DescribeAccessEntry", self._describe)

    def add(self, arn: str, groups: list[str], kind: str = "STANDARD") -> None:
        self.entries[arn] = {"principalArn": arn, "kubernetesGroups": groups, "type": kind}

    @staticmethod
    def _remember(params, context, **_):
        context["api_params"] = dict(params)

    def _list(self, context, **_):
        return AWSResponse(None, 200, {}, None), {"accessEntries": list(self.entries)}

    def _describe(self, context, **_):
        arn = context["api_params"]["principalArn"]
        if arn not in self.entries:
            error = {"Error": {"Code": "ResourceNotFoundException", "Message": f"no entry {arn}"}}
            return AWSResponse(None, 404, {}, None), error
        return AWSResponse(None, 200, {}, None), {"accessEntry": self.entries[arn]}


ACCESS_ENTRIES = AccessEntries()


@dataclass
class Account:
    """A moto account built to match the dev stack, and handles on what the tests change in it."""

    session: boto3.session.Session
    outputs: dict
    node_groups: dict[str, str]  # pool -> node group name
    gpu_instances: dict[str, str]  # pool -> instance id
    plan: Plan

    def client(self, service: str):
        return self.session.client(service)

    @property
    def bucket(self) -> str:
        return self.outputs["artifactBucket"]

    def audit(self) -> AuditResult:
        return run_audit(StackExpectation.from_stack(self.plan, self.outputs), Progress(), self.session)


def build_account(session: boto3.session.Session) -> Account:
    plan = planned(STACK)
    outputs = {**plan.outputs, "artifactKmsKeyArn": session.client("kms").create_key()["KeyMetadata"]["Arn"]}
    _hardened_bucket(session.client("s3"), outputs["artifactBucket"], outputs["region"], outputs["artifactKmsKeyArn"])
    eks = session.client("eks")
    _cluster(eks, outputs["clusterName"])
    node_groups = {}
    for group in plan.of_type(NODE_GROUP_TYPE):
        pool = group.inputs["labels"]["rayplat.io/pool"]
        node_groups[pool] = _node_group(eks, outputs["clusterName"], group.inputs)
    ec2 = session.client("ec2")
    gpu_instances = {
        pool: _instance(
            ec2, spec["instanceTypes"][0], _node_tags(plan, pool, outputs["clusterName"], node_groups[pool])
        )
        for pool, spec in outputs["gpuPools"].items()
    }
    _instance(ec2, "m6i.xlarge", _node_tags(plan, "system", outputs["clusterName"], node_groups["system"]))
    # A GPU node of another stack's live node group, in the same account: not this stack's orphan.
    _cluster(eks, OTHER_CLUSTER)
    other = _node_group(eks, OTHER_CLUSTER, plan.of_type(NODE_GROUP_TYPE)[0].inputs)
    _instance(ec2, "g5.xlarge", {"eks:cluster-name": OTHER_CLUSTER, "eks:nodegroup-name": other, "team": "research"})
    _access(session, plan)
    return Account(session, outputs, node_groups, gpu_instances, plan)


def _access(session: boto3.session.Session, plan: Plan) -> None:
    """The roles and access entries the stack declares, and the node role's entry EKS makes itself."""
    ACCESS_ENTRIES.entries.clear()
    iam = session.client("iam")
    for entry in plan.of_type(ACCESS_ENTRY_TYPE):
        arn = entry.inputs["principalArn"]
        path, _, name = arn.split(":role", 1)[1].rpartition("/")
        iam.create_role(RoleName=name, Path=f"{path}/", AssumeRolePolicyDocument="{}")
        ACCESS_ENTRIES.add(arn, entry.inputs.get("kubernetesGroups") or [])
    ACCESS_ENTRIES.add("arn:aws:iam::123456789012:role/eks-node", ["system:nodes"], kind="EC2_LINUX")


def _hardened_bucket(s3, bucket: str, region: str, key_arn: str) -> None:
    """As components/aws/storage.py configures it."""
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny_insecure_transport(f"arn:aws:s3:::{bucket}")))


def _cluster(eks, name: str) -> None:
    eks.create_cluster(
        name=name,
        roleArn="arn:aws:iam::123456789012:role/eks-cluster",
        resourcesVpcConfig={"subnetIds": ["subnet-1", "subnet-2"]},
    )


def _node_group(eks, cluster: str, inputs: dict, **changes) -> str:
    """A managed node group like the one the stack's plan registers, named as EKS names a prefixed group."""
    name = f"{inputs['nodeGroupNamePrefix']}20260101000000000000000001"
    scaling = inputs["scalingConfig"]
    eks.create_nodegroup(
        clusterName=cluster,
        nodegroupName=name,
        nodeRole="arn:aws:iam::123456789012:role/eks-node",
        subnets=["subnet-1", "subnet-2"],
        scalingConfig={"minSize": scaling["minSize"], "maxSize": scaling["maxSize"], "desiredSize": scaling["minSize"]},
        amiType=changes.get("amiType", inputs["amiType"]),
        instanceTypes=inputs["instanceTypes"],
        labels=inputs["labels"],
        tags=inputs["tags"],
    )
    return name


def _node_tags(plan: Plan, pool: str, cluster: str, node_group: str) -> dict[str, str]:
    """What a node of the pool carries: the launch template's tags, and those EKS adds."""
    template = next(r for r in plan.of_type("aws:ec2/launchTemplate:LaunchTemplate") if r.name == f"{STACK}-{pool}")
    tags = next(spec["tags"] for spec in template.inputs["tagSpecifications"] if spec["resourceType"] == "instance")
    return {**tags, "eks:cluster-name": cluster, "eks:nodegroup-name": node_group}


def _instance(ec2, instance_type: str, tags: dict[str, str]) -> str:
    image = ec2.register_image(Name=f"node-{instance_type}", RootDeviceName="/dev/xvda")["ImageId"]
    volume_tags = {key: value for key, value in tags.items() if not key.startswith("eks:")}
    reservation = ec2.run_instances(
        ImageId=image,
        InstanceType=instance_type,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in kind_tags.items()]}
            for kind, kind_tags in (("instance", tags), ("volume", volume_tags))
            if kind_tags
        ],
    )
    return reservation["Instances"][0]["InstanceId"]


def _root_volume(account: Account, pool: str) -> str:
    ec2 = account.client("ec2")
    instance = ec2.describe_instances(InstanceIds=[account.gpu_instances[pool]])["Reservations"][0]["Instances"][0]
    return instance["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]


@pytest.fixture(scope="module")
def session() -> boto3.session.Session:
    """One session for the in-process tests: its clients load AWS's API models once."""
    session = boto3.session.Session(
        region_name=planned(STACK).outputs["region"],
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    ACCESS_ENTRIES.install(session)
    return session


@pytest.fixture
def account(session, monkeypatch) -> Iterator[Account]:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)  # for the command line, and so that nothing reaches a real account
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # the nodes' images are registered as needed
    # The command line's audit runs on the session that serves the access entries.
    monkeypatch.setattr(boto3.session, "Session", lambda **_: session)
    with mock_aws():
        yield build_account(session)


def test_a_clean_account_has_no_findings(account):
    result = account.audit()
    assert result.error is None
    assert result.findings == []
    assert [step.name for step in result.steps] == ["node groups", "GPU instances", "artifact bucket", "access entries"]
    assert all(step.ok for step in result.steps)


# Each planted problem: what to do to the clean account, the checks expected, and a fragment of the message.
Plant = Callable[[Account], None]


def _encryption_removed(account: Account) -> None:
    account.client("s3").delete_bucket_encryption(Bucket=account.bucket)


def _encryption_sse_s3(account: Account) -> None:
    account.client("s3").put_bucket_encryption(
        Bucket=account.bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def _public_policy_allowed(account: Account) -> None:
    flags = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": False,
        "RestrictPublicBuckets": True,
    }
    account.client("s3").put_public_access_block(Bucket=account.bucket, PublicAccessBlockConfiguration=flags)


def _public_access_block_removed(account: Account) -> None:
    account.client("s3").delete_public_access_block(Bucket=account.bucket)


def _versioning_suspended(account: Account) -> None:
    account.client("s3").put_bucket_versioning(Bucket=account.bucket, VersioningConfiguration={"Status": "Suspended"})


def _tls_policy_removed(account: Account) -> None:
    account.client("s3").delete_bucket_policy(Bucket=account.bucket)


def _bucket_deleted(account: Account) -> None:
    account.client("s3").delete_bucket(Bucket=account.bucket)


def _instance_untagged(account: Account) -> None:
    account.client("ec2").delete_tags(Resources=[account.gpu_instances["a10g"]], Tags=[{"Key": "team"}])


def _instance_mistagged(account: Account) -> None:
    account.client("ec2").create_tags(Resources=[account.gpu_instances["l4"]], Tags=[{"Key": "env", "Value": "prod"}])


def _volume_untagged(account: Account) -> None:
    account.client("ec2").delete_tags(Resources=[_root_volume(account, "l4")], Tags=[{"Key": "owner"}])


def _orphan_instance(account: Account) -> None:
    """A GPU instance launched by hand, outside any node group."""
    _instance(account.client("ec2"), "g5.12xlarge", {"Name": "gpu-notebook", "team": "ml-platform"})


def _node_of_a_deleted_node_group(account: Account) -> None:
    tags = {"eks:cluster-name": account.outputs["clusterName"], "eks:nodegroup-name": "a10g-20250101000000000000000009"}
    _instance(account.client("ec2"), "p4d.24xlarge", tags)


def _scaling_drifted(account: Account) -> None:
    account.client("eks").update_nodegroup_config(
        clusterName=account.outputs["clusterName"],
        nodegroupName=account.node_groups["a10g"],
        scalingConfig={"minSize": 1, "maxSize": 8, "desiredSize": 1},
    )


def _ami_type_drifted(account: Account) -> None:
    eks, cluster = account.client("eks"), account.outputs["clusterName"]
    eks.delete_nodegroup(clusterName=cluster, nodegroupName=account.node_groups["l4"])
    inputs = next(r.inputs for r in account.plan.of_type(NODE_GROUP_TYPE) if r.inputs["nodeGroupNamePrefix"] == "l4-")
    _node_group(eks, cluster, inputs, amiType="AL2023_x86_64_STANDARD")


def _node_group_deleted(account: Account) -> None:
    account.client("eks").delete_nodegroup(
        clusterName=account.outputs["clusterName"], nodegroupName=account.node_groups["a10g"]
    )


def _unknown_node_group(account: Account) -> None:
    inputs = {
        **account.plan.of_type(NODE_GROUP_TYPE)[0].inputs,
        "nodeGroupNamePrefix": "h100-",
        "labels": {"rayplat.io/pool": "h100"},
    }
    _node_group(account.client("eks"), account.outputs["clusterName"], inputs)


VISION_ROLE = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_MLVision_3f2a9c1e7b5d4a60"


def _team_entry_deleted(account: Account) -> None:
    del ACCESS_ENTRIES.entries[VISION_ROLE]


def _team_role_deleted(account: Account) -> None:
    account.client("iam").delete_role(RoleName=VISION_ROLE.rsplit("/", 1)[-1])
    del ACCESS_ENTRIES.entries[VISION_ROLE]


def _team_entry_regrouped(account: Account) -> None:
    ACCESS_ENTRIES.add(VISION_ROLE, ["ml-nlp"])


def _entry_added_by_hand(account: Account) -> None:
    ACCESS_ENTRIES.add("arn:aws:iam::123456789012:role/contractor", ["ml-vision"])


PLANTED = [
    (_team_entry_deleted, {"team-access-missing"}, "has no access entry: its users are not in group ml-vision"),
    (_team_role_deleted, {"team-role-missing"}, "AWSReservedSSO_MLVision_3f2a9c1e7b5d4a60 does not exist"),
    (_team_entry_regrouped, {"team-access-drift"}, "to group(s) ml-nlp, not ml-vision"),
    (_entry_added_by_hand, {"access-entry-undeclared"}, "role/contractor is declared by no team or platform role"),
    (_encryption_removed, {"bucket-encryption"}, "has no default encryption; the stack requires SSE-KMS"),
    (_encryption_sse_s3, {"bucket-encryption"}, "encrypts with AES256; the stack requires SSE-KMS"),
    (_public_policy_allowed, {"bucket-public-access"}, "public access block off for BlockPublicPolicy"),
    (
        _public_access_block_removed,
        {"bucket-public-access"},
        "off for BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets",
    ),
    (_versioning_suspended, {"bucket-versioning"}, "versioning is Suspended; the stack requires Enabled"),
    (_tls_policy_removed, {"bucket-tls-policy"}, "does not deny s3:* without TLS"),
    (_bucket_deleted, {"bucket-missing"}, "does not exist"),
    (_instance_untagged, {"instance-cost-tags"}, "(pool a10g): missing cost tag(s) team"),
    (_instance_mistagged, {"instance-cost-tags"}, "(pool l4): env is 'prod', the stack says 'dev'"),
    (_volume_untagged, {"volume-cost-tags"}, "(pool l4): missing cost tag(s) owner"),
    (_orphan_instance, {"orphan-gpu-instance"}, "(g5.12xlarge, $5.672/h, launched"),
    (_node_of_a_deleted_node_group, {"orphan-gpu-instance"}, "eks:nodegroup-name=a10g-20250101000000000000000009"),
    (_scaling_drifted, {"nodegroup-scaling"}, "(pool a10g) scales 1..8 nodes; the stack says 0..4"),
    (_ami_type_drifted, {"nodegroup-ami-type"}, "(pool l4) runs AMI type AL2023_x86_64_STANDARD; the stack says"),
    # Its nodes become orphans with it.
    (_node_group_deleted, {"nodegroup-missing", "orphan-gpu-instance"}, "pool a10g has no node group in cluster"),
    (_unknown_node_group, {"nodegroup-unknown"}, "belongs to no pool of stack dev"),
]


@pytest.mark.parametrize(("plant", "checks", "message"), PLANTED, ids=[p[0].__name__.strip("_") for p in PLANTED])
def test_each_planted_problem_is_found(account, plant: Plant, checks: set[str], message: str):
    plant(account)
    result = account.audit()
    assert result.error is None
    assert {finding.check for finding in result.findings} == checks, [f.message for f in result.findings]
    assert any(message in finding.message for finding in result.findings), [f.message for f in result.findings]


def test_an_orphan_is_priced_from_the_instance_catalog(account):
    _orphan_instance(account)
    _node_of_a_deleted_node_group(account)
    result = account.audit()
    assert sorted(f.hourly_usd for f in result.findings) == [5.672, 21.958]
    assert result.orphan_hourly_usd == 27.63
    assert result.to_dict()["orphanHourlyUsd"] == 27.63


def test_the_cost_tags_checked_are_the_required_ones(account):
    for key in REQUIRED_COST_TAGS:
        account.client("ec2").delete_tags(Resources=[account.gpu_instances["a10g"]], Tags=[{"Key": key}])
    (finding,) = account.audit().findings
    assert finding.message.endswith(f"missing cost tag(s) {', '.join(REQUIRED_COST_TAGS)}")


def test_a_missing_cluster_is_one_finding(account):
    expected = StackExpectation.from_stack(account.plan, {**account.outputs, "clusterName": "ray-gone"})
    result = run_audit(expected, Progress(), account.session)
    node_group_findings = [f for f in result.findings if f.check.startswith(("cluster", "nodegroup"))]
    assert [(f.check, f.message) for f in node_group_findings] == [
        ("cluster-missing", "EKS cluster ray-gone does not exist in us-west-2")
    ]


def _write_outputs(tmp_path, outputs: dict):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    return path


def test_cli_exits_0_on_a_clean_account_and_1_with_a_json_report_of_findings(account, tmp_path):
    outputs = _write_outputs(tmp_path, account.outputs)
    clean = runner.invoke(app, ["runbook", "audit", "--stack", STACK, "--outputs", str(outputs)])
    assert clean.exit_code == 0, clean.output
    assert "no findings" in clean.output

    _orphan_instance(account)
    _versioning_suspended(account)
    report = tmp_path / "audit.json"
    args = [
        "runbook",
        "audit",
        "--stack",
        STACK,
        "--outputs",
        str(outputs),
        "--format",
        "json",
        "--output",
        str(report),
    ]
    found = runner.invoke(app, args)
    assert found.exit_code == 1, found.output
    document = json.loads(report.read_text())
    assert document["ok"] is False
    assert {f["check"] for f in document["findings"]} == {"orphan-gpu-instance", "bucket-versioning"}
    assert document["orphanHourlyUsd"] == 5.672
    assert [s["name"] for s in document["steps"]] == [
        "node groups",
        "GPU instances",
        "artifact bucket",
        "access entries",
    ]
    assert {"name", "ok", "seconds", "detail", "skipped"} == set(document["steps"][0])


def test_cli_text_report_lists_each_finding(account, tmp_path):
    _tls_policy_removed(account)
    result = runner.invoke(
        app, ["runbook", "audit", "--stack", STACK, "--outputs", str(_write_outputs(tmp_path, account.outputs))]
    )
    assert result.exit_code == 1
    assert "1 finding(s), stack dev in us-west-2" in result.output
    assert "bucket-tls-policy" in result.output


@pytest.mark.parametrize(
    ("stack", "outputs", "message"),
    [
        ("dev", None, "the stack outputs lack artifactBucket"),
        ("dev", "missing.json", "cannot read the stack outputs"),
        ("gcp-dev", {"cloud": "gcp", "region": "us-central1"}, "the audit covers AWS stacks; gcp-dev is 'gcp'"),
    ],
)
def test_cli_bad_input_exits_2(tmp_path, stack, outputs, message):
    args = ["runbook", "audit", "--stack", stack]
    if isinstance(outputs, dict):
        args += ["--outputs", str(_write_outputs(tmp_path, outputs))]
    elif outputs:
        args += ["--outputs", str(tmp_path / outputs)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_offline_outputs_keep_what_the_stack_file_decides():
    dev = offline_outputs(planned("dev"))
    assert dev["clusterName"] == "ray-dev" and dev["region"] == "us-west-2"
    assert "artifactBucket" not in dev and "vpcId" not in dev  # generated at deploy time
    assert offline_outputs(planned("local"))["artifactBucket"] == "ray-artifacts"


# Through moto's server, as a separate process on 127.0.0.1, reached by AWS_ENDPOINT_URL like a real endpoint.


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with processes.moto_server() as url:
        yield url


@pytest.fixture
def server_env(moto_endpoint, monkeypatch) -> str:
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": moto_endpoint, "AWS_MAX_ATTEMPTS": "1"}.items():
        monkeypatch.setenv(name, value)
    return moto_endpoint


def test_cli_through_moto_server_finds_an_orphan(server_env, tmp_path):
    account = build_account(boto3.session.Session(region_name=planned(STACK).outputs["region"]))
    outputs = _write_outputs(tmp_path, account.outputs)
    # moto's server has no access entries to list.
    args = ["runbook", "audit", "--stack", STACK, "--outputs", str(outputs), "--format", "json"]
    args += ["--skip", "access entries"]
    clean = runner.invoke(app, args)
    assert clean.exit_code == 0, clean.output

    _node_of_a_deleted_node_group(account)
    found = runner.invoke(app, args)
    assert found.exit_code == 1, found.output
    document = json.loads(found.stdout)
    (orphan,) = document["findings"]
    assert (orphan["check"], orphan["hourlyUsd"]) == ("orphan-gpu-instance", 21.958)


def test_cli_exits_2_when_aws_cannot_be_reached(monkeypatch, tmp_path):
    for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{processes.free_port()}"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    outputs = {**planned(STACK).outputs, "artifactBucket": "dev-artifacts"}
    result = runner.invoke(
        app, ["runbook", "audit", "--stack", STACK, "--outputs", str(_write_outputs(tmp_path, outputs))]
    )
    assert result.exit_code == 2
    assert "cannot audit the node groups" in result.output
