"""Each cloud layer and kubernetes component built alone from its Args, on the mock engine."""

from __future__ import annotations

import pulumi
import pytest

from components.aws.cluster import AwsCluster, AwsClusterArgs, ExistingVpc
from components.aws.network import NetworkArgs
from components.aws.storage import ArtifactStoreArgs
from components.existing.cluster import ExistingCluster, ExistingClusterArgs, MinioStore, S3Store
from components.existing.objectstore import existing_secret_binder
from components.gcp.cluster import GcpCluster, GcpClusterArgs
from components.gcp.network import GcpNetworkArgs
from components.gcp.storage import GcsArtifactStoreArgs
from components.handle import ClusterHandle, ObjectStore
from components.kubernetes.gpu import NvidiaDevicePlugin
from components.kubernetes.kuberay import KubeRayArgs, KubeRayOperator
from components.kubernetes.observability.stack import MonitoringArgs, MonitoringStack
from components.kubernetes.teams import Kueue, Team, TeamWorkloads
from components.kubernetes.tenancy import GpuShare, TeamSpec
from components.nodes import ManagedPool, PoolSpec, gpu_labels, gpu_taints, system_labels
from tests.components_support import build_alone, children_of, count, k8s_provider

TAGS = {"team": "ml", "env": "dev", "owner": "ml", "department": "research", "app": "ray"}
ADMIN = "arn:aws:iam::123456789012:role/admin"


def system_spec(instance_type: str) -> PoolSpec:
    return PoolSpec("system", system_labels("system", {}), [], 2, 4, [instance_type])


def gpu_spec(name: str, instance_type: str, model: str, gpus: int) -> PoolSpec:
    return PoolSpec(name, gpu_labels(name, model, {}), gpu_taints([]), 0, 3, [instance_type], model, gpus)


def managed(spec: PoolSpec, accelerator: str | None = None) -> ManagedPool:
    return ManagedPool(spec, spot=False, initial_size=spec.min_size, disk_size_gib=100, accelerator=accelerator)


def aws_args(network: NetworkArgs | ExistingVpc, gpu_pools: int) -> AwsClusterArgs:
    return AwsClusterArgs(
        cluster_name="ray-unit",
        region="us-east-1",
        kubernetes_version="1.34",
        public_endpoint=False,
        public_cidrs=[],
        admin_role_arn=ADMIN,
        deploy_role_arn=None,
        log_retention_days=90,
        protect=False,
        network=network,
        system_pool=managed(system_spec("m6i.xlarge")),
        gpu_pools=[managed(gpu_spec(f"gpu{i}", "g5.xlarge", "A10G", 1)) for i in range(gpu_pools)],
        storage=ArtifactStoreArgs(None, False, False, 30, 7, ADMIN, TAGS),
        managed_prometheus=False,
        tags=TAGS,
    )


@pytest.mark.parametrize("gpu_pools", [0, 2])
def test_aws_layer_builds_a_node_group_per_pool_in_a_vpc_of_its_own(gpu_pools):
    network = NetworkArgs("ray-unit", "10.0.0.0/16", ["us-east-1a", "us-east-1b"], False, TAGS)
    plan = build_alone(lambda: AwsCluster("unit", aws_args(network, gpu_pools)))
    assert count(plan, "aws:eks/cluster:Cluster") == 1
    assert count(plan, "aws:eks/nodeGroup:NodeGroup") == 1 + gpu_pools
    assert count(plan, "aws:ec2/vpc:Vpc") == 1
    children = children_of(plan, "rayplat:aws:Cluster")
    assert {"rayplat:aws:EksCluster", "rayplat:aws:NodePool", "rayplat:aws:Network", "pulumi:providers:aws"} <= set(
        children
    )
    assert children.count("rayplat:aws:NodePool") == 1 + gpu_pools


def test_aws_layer_in_an_existing_vpc_creates_no_network():
    vpc = ExistingVpc("vpc-0123456789abcdef0", ["subnet-a", "subnet-b"])
    plan = build_alone(lambda: AwsCluster("unit", aws_args(vpc, 1)))
    assert count(plan, "aws:ec2/vpc:Vpc") == 0 and count(plan, "aws:ec2/subnet:Subnet") == 0
    groups = plan.of_type("aws:eks/nodeGroup:NodeGroup")
    assert len(groups) == 2
    for group in groups:
        assert group.inputs["subnetIds"] == ["subnet-a", "subnet-b"]


def gcp_args(protect: bool) -> GcpClusterArgs:
    return GcpClusterArgs(
        cluster_name="ray-unit",
        project="rayplat-unit",
        region="us-central1",
        zones=["us-central1-a"],
        network=GcpNetworkArgs("us-central1", "10.10.0.0/20", "10.16.0.0/14", "10.20.0.0/20"),
        master_cidr="172.16.0.0/28",
        private_endpoint=True,
        authorized_cidrs=[],
        release_channel="REGULAR",
        rbac_security_group=None,
        protect=protect,
        system_pool=managed(system_spec("e2-standard-4")),
        gpu_pools=[managed(gpu_spec("t4", "n1-standard-8", "T4", 1), accelerator="nvidia-tesla-t4")],
        storage=GcsArtifactStoreArgs(None, "us-central1", False, protect, None, 30, 7, TAGS),
        labels=TAGS,
    )


@pytest.mark.parametrize("protect", [False, True])
def test_gcp_layer_encrypts_secrets_with_its_own_key_only_when_protected(protect):
    plan = build_alone(lambda: GcpCluster("unit", gcp_args(protect)), region="us-central1")
    assert count(plan, "gcp:container/cluster:Cluster") == 1
    pools = plan.of_type("gcp:container/nodePool:NodePool")
    assert len(pools) == 2
    attached = [a for p in pools for a in p.inputs["nodeConfig"].get("guestAccelerators", [])]
    assert [(a["type"], a["count"]) for a in attached] == [("nvidia-tesla-t4", 1)]
    assert count(plan, "gcp:kms/cryptoKey:CryptoKey") == (1 if protect else 0)
    assert count(plan, "gcp:storage/bucket:Bucket") == 1


def existing_args(store: MinioStore | S3Store) -> ExistingClusterArgs:
    gpu = PoolSpec("gpu", {"gpu": "yes"}, [], 0, 2, [], "L4", 1, node_selector={"gpu": "yes"})
    return ExistingClusterArgs("kind-unit", None, system_spec("any"), [gpu], store, True, TAGS)


def test_existing_layer_installs_minio_only_when_asked():
    with_minio = build_alone(lambda: ExistingCluster("unit", existing_args(MinioStore("ray-artifacts", 20))))
    assert count(with_minio, "rayplat:existing:Minio") == 1
    assert count(with_minio, "kubernetes:helm.sh/v3:Release") == 1
    s3 = S3Store("ray-artifacts", "https://s3.example.com", "us-east-1", "s3-credentials")
    with_s3 = build_alone(lambda: ExistingCluster("unit", existing_args(s3)))
    assert count(with_s3, "rayplat:existing:Minio") == 0
    assert [r.type for r in with_s3.resources if r.custom] == ["pulumi:providers:kubernetes"]


def test_device_plugin_alone_selects_each_gpu_pool():
    pools = [gpu_spec("a10g", "g5.xlarge", "A10G", 1), gpu_spec("l4", "g6.xlarge", "L4", 1)]
    plan = build_alone(lambda: NvidiaDevicePlugin("unit", pools, provider=k8s_provider()))
    assert children_of(plan, "rayplat:kubernetes:NvidiaDevicePlugin") == ["kubernetes:helm.sh/v3:Release"]
    (release,) = plan.of_type("kubernetes:helm.sh/v3:Release")
    terms = release.inputs["values"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    selected = [e["values"] for t in terms["nodeSelectorTerms"] for e in t["matchExpressions"]]
    assert selected == [["a10g"], ["l4"]]


def test_kuberay_operator_alone_runs_on_the_system_pool():
    args = KubeRayArgs(system_pool=system_spec("m6i.xlarge"), cost_labels=TAGS)
    plan = build_alone(lambda: KubeRayOperator("unit", args, provider=k8s_provider()))
    releases = plan.of_type("kubernetes:helm.sh/v3:Release")
    assert len(releases) == 1
    assert releases[0].inputs["values"]["nodeSelector"] == {"rayplat.io/pool": "system"}
    assert count(plan, "kubernetes:yaml/v2:ConfigGroup") >= 1


def handle_for(pools: list[PoolSpec]) -> ClusterHandle:
    return ClusterHandle(
        name=pulumi.Output.from_input("unit"),
        provider=k8s_provider(),
        system_pool=system_spec("m6i.xlarge"),
        gpu_pools=pools,
        object_store=ObjectStore(pulumi.Output.from_input("b"), pulumi.Output.from_input("s3://b"), "us-east-1"),
        bind_identity=existing_secret_binder("s3-credentials"),
        cost_labels=TAGS,
    )


@pytest.mark.parametrize(
    ("gpu_pools", "charts"),
    [(0, ["kube-prometheus-stack", "opencost"]), (1, ["dcgm-exporter", "kube-prometheus-stack", "opencost"])],
)
def test_monitoring_stack_alone_scrapes_gpus_only_where_there_are_gpu_pools(gpu_pools, charts):
    pools = [gpu_spec("l4", "g6.xlarge", "L4", 1)][:gpu_pools]
    args = MonitoringArgs(system_spec("m6i.xlarge"), pools, TAGS, "15d", 50, "docs/")
    plan = build_alone(lambda: MonitoringStack("unit", args, provider=k8s_provider()))
    assert sorted(r.inputs["chart"] for r in plan.of_type("kubernetes:helm.sh/v3:Release")) == charts


def test_a_team_alone_gets_its_namespace_and_a_queue_per_gpu_pool():
    pools = [gpu_spec("a10g", "g5.xlarge", "A10G", 1), gpu_spec("l4", "g6.xlarge", "L4", 1)]
    spec = TeamSpec("nlp", "ml", "research", "nlp-devs", "32", "128Gi", {"a10g": GpuShare(2, None, None)})

    def build() -> None:
        handle = handle_for(pools)
        kueue = Kueue("unit-kueue", handle, prometheus=False, opts=pulumi.ResourceOptions())
        Team("unit-team-nlp", TeamWorkloads(spec), handle, kueue=kueue, opts=pulumi.ResourceOptions())

    plan = build_alone(build)
    namespaces = [r.inputs["metadata"]["name"] for r in plan.of_type("kubernetes:core/v1:Namespace")]
    assert "team-nlp" in namespaces
    flavors = plan.of_type("kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor")
    assert len(flavors) == len(pools) + 1  # one per GPU pool, and the CPU flavor
    (queue,) = plan.of_type("kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue")
    assert queue.inputs["metadata"]["labels"]["rayplat.io/team"] == "nlp"
