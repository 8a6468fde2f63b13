"""Bad stack configs fail with one message that names every problem, and nothing is registered."""

from __future__ import annotations

import pytest
from pulumi.runtime.settings import get_monitor

from rayplat.plan import run_program
from stackconfig.errors import ConfigError
from stackconfig.loading import parse_config, project_keys
from tests.conftest import PROGRAM, get_key, set_key


def _pool(config, index=0, **changes):
    pools = get_key(config, "gpuPools")
    pools[index].update(changes)
    return set_key(config, "gpuPools", pools)


def _section(config, key, **changes):
    return set_key(config, key, {**get_key(config, key), **changes})


def _tags(config, **changes):
    tags = {**get_key(config, "tags"), **changes}
    return set_key(config, "tags", {k: v for k, v in tags.items() if v is not None})


BAD_CONFIGS = {
    "pool max below min": (lambda c: _pool(c, 1, minSize=2, maxSize=1), "gpuPools[1].maxSize: must be >= minSize (2)"),
    "desired outside bounds": (
        lambda c: _pool(c, 0, desiredSize=9),
        "gpuPools[0].desiredSize: must be between minSize (0) and maxSize (4)",
    ),
    "negative min": (
        lambda c: _pool(c, 0, minSize=-1),
        "gpuPools[0].minSize: input should be greater than or equal to 0",
    ),
    "cpu type in a gpu pool": (
        lambda c: _pool(c, 0, instanceTypes=["g5.xlarge", "m5.large"]),
        "gpuPools[0].instanceTypes[1]: 'm5.large' is not a known GPU instance type",
    ),
    "mixed gpu shapes": (
        lambda c: _pool(c, 0, instanceTypes=["g5.xlarge", "g5.12xlarge"]),
        "gpuPools[0].instanceTypes: all instance types of a pool must have the same GPU model",
    ),
    "duplicate pool name": (lambda c: _pool(c, 1, name="a10g"), "gpuPools[1].name: duplicate pool name 'a10g'"),
    "pool named like the system pool": (
        lambda c: _pool(c, 0, name="system"),
        "gpuPools[0].name: duplicate pool name 'system'",
    ),
    "bad pool name": (lambda c: _pool(c, 0, name="A10G_pool"), "gpuPools[0].name: 'A10G_pool' must match"),
    "bad capacity type": (
        lambda c: _pool(c, 0, capacityType="preemptible"),
        "gpuPools[0].capacityType: input should be 'spot' or 'onDemand'",
    ),
    "reserved label": (
        lambda c: _pool(c, 0, labels={"rayplat.io/pool": "x"}),
        "gpuPools[0].labels.rayplat.io/pool: the prefix 'rayplat.io/' is reserved",
    ),
    "gpu type in the system pool": (
        lambda c: _section(c, "systemPool", instanceTypes=["g5.xlarge"]),
        "systemPool.instanceTypes[0]: 'g5.xlarge' is a GPU instance type",
    ),
    "invalid cidr": (
        lambda c: _section(c, "cluster", endpoint={"access": "public", "publicCidrs": ["10.0.0.0/33"]}),
        "cluster.endpoint.publicCidrs[0]: '10.0.0.0/33' is not a valid CIDR",
    ),
    "endpoint open to the internet": (
        lambda c: _section(c, "cluster", endpoint={"access": "public", "publicCidrs": ["0.0.0.0/0"]}),
        "cluster.endpoint.publicCidrs[0]: 0.0.0.0/0 opens the Kubernetes API to the internet",
    ),
    "public endpoint without cidrs": (
        lambda c: _section(c, "cluster", endpoint={"access": "public"}),
        "cluster.endpoint.publicCidrs: a public endpoint needs at least one allowed CIDR",
    ),
    "unsupported kubernetes": (
        lambda c: _section(c, "cluster", kubernetesVersion="1.27"),
        "cluster.kubernetesVersion: '1.27' is not supported",
    ),
    "bad admin role": (
        lambda c: _section(c, "cluster", adminRoleArn="platform-admin"),
        "cluster.adminRoleArn: 'platform-admin' is not an IAM role ARN",
    ),
    "vpc too small": (
        lambda c: _section(c, "network", vpcCidr="10.40.0.0/24"),
        "network.vpcCidr: must be a /16 to /20 network",
    ),
    "one availability zone": (
        lambda c: _section(c, "network", availabilityZones=["us-west-2a"]),
        "network.availabilityZones: EKS needs at least 2 availability zones",
    ),
    "zone of another region": (
        lambda c: _section(c, "network", availabilityZones=["us-west-2a", "eu-west-1b"]),
        "network.availabilityZones[1]: 'eu-west-1b' is not a zone of us-west-2",
    ),
    "bad region": (lambda c: set_key(c, "aws", {"region": "mars-1"}), "aws.region: 'mars-1' is not an AWS region"),
    "missing cost tag": (lambda c: _tags(c, owner=None), "tags.owner: required cost tag is missing"),
    "reserved tag prefix": (lambda c: _tags(c, **{"aws:team": "x"}), "tags.aws:team: the 'aws:' prefix is reserved"),
    "tag value too long": (
        lambda c: _tags(c, project="x" * 257),
        "tags.project: tag values are at most 256 characters",
    ),
    "cost tag not a label value": (
        lambda c: _tags(c, owner="jane@example.com"),
        "tags.owner: 'jane@example.com' must also be a valid Kubernetes label value",
    ),
    "env tag disagrees": (lambda c: _tags(c, env="prod"), "tags.env: 'prod' must equal environment ('dev')"),
    "force destroy in prod": (
        lambda c: _tags(_section(set_key(c, "environment", "prod"), "storage", forceDestroy=True), env="prod"),
        "storage.forceDestroy: is not allowed in prod",
    ),
    "renamed system pool clashes": (
        lambda c: _pool(_section(c, "systemPool", name="cpu"), 0, name="cpu"),
        "gpuPools[0].name: duplicate pool name 'cpu'",
    ),
    "bad taint value": (
        lambda c: _pool(c, 0, taints=[{"key": "dedicated", "value": "a b", "effect": "NoSchedule"}]),
        "gpuPools[0].taints[0].value: 'a b' is not a valid taint value",
    ),
    "taint key twice": (
        lambda c: _pool(c, 0, taints=[{"key": "x", "effect": "NoSchedule"}, {"key": "x", "effect": "NoExecute"}]),
        "gpuPools[0].taints[1].key: 'x' is tainted twice",
    ),
    "reserved ray namespace": (
        lambda c: set_key(c, "ray", {"namespace": "kuberay-system"}),
        "ray.namespace: 'kuberay-system' is reserved",
    ),
    "too many tags": (
        lambda c: _tags(c, **{f"extra{i}": "x" for i in range(43)}),
        "tags: at most 47 tags (48 given)",
    ),
    "nat gateways of an existing vpc": (
        lambda c: set_key(
            c,
            "network",
            {
                "natGateways": "perAz",
                "existing": {"vpcId": "vpc-0abc1234", "privateSubnetIds": ["subnet-0a", "subnet-0b"]},
            },
        ),
        "network.existing: use either an existing VPC or vpcCidr/availabilityZones/natGateways, not both",
    ),
    "misspelt key": (lambda c: set_key(c, "gpuPool", []), "gpuPool: unknown key; did you mean `gpuPools`?"),
    "missing required key": (
        lambda c: {k: v for k, v in c.items() if k != "ray-platform:cloud"},
        "cloud: field required",
    ),
}


@pytest.mark.parametrize("case", BAD_CONFIGS, ids=list(BAD_CONFIGS))
def test_bad_config_fails_before_any_resource(case, dev_config):
    mutate, expected = BAD_CONFIGS[case]
    with pytest.raises(ConfigError) as raised:
        run_program("dev", mutate(dev_config), PROGRAM)
    assert expected in str(raised.value)
    assert get_monitor().recorded == [], "a resource was registered despite an invalid config"


def test_every_problem_is_reported_at_once(dev_config):
    dev_config = {k: v for k, v in dev_config.items() if k != "ray-platform:teams"}  # teams' own checks elsewhere
    config = _tags(
        _pool(_pool(dev_config, 1, minSize=2, maxSize=1, name="a10g"), 0, instanceTypes=["m5.large"]), env="x"
    )
    config = _section(config, "network", availabilityZones=["us-west-2a", "eu-west-1a"])
    config = _section(config, "cluster", endpoint={"access": "public"}, kubernetesVersion="1.20", adminRoleArn="admin")
    with pytest.raises(ConfigError) as raised:
        parse_config(project_keys(config))
    assert raised.value.problems == [
        "cluster.kubernetesVersion: '1.20' is not supported (1.32, 1.33, 1.34)",
        "cluster.endpoint.publicCidrs: a public endpoint needs at least one allowed CIDR",
        "cluster.adminRoleArn: 'admin' is not an IAM role ARN",
        "gpuPools[0].instanceTypes[0]: 'm5.large' is not a known GPU instance type "
        "(families: g4dn, g5, g6, g6e, p3, p4d, p5)",
        "gpuPools[1].maxSize: must be >= minSize (2)",
        "tags.env: 'x' must equal environment ('dev')",
        "network.availabilityZones[1]: 'eu-west-1a' is not a zone of us-west-2",
        "gpuPools[1].name: duplicate pool name 'a10g'",
    ]
    assert str(raised.value).startswith("Invalid stack config: 8 problems:\n  cluster.kubernetesVersion")


def test_existing_vpc_replaces_the_created_one(dev_config):
    config = set_key(
        dev_config, "network", {"existing": {"vpcId": "vpc-0abc1234", "privateSubnetIds": ["subnet-0a", "subnet-0b"]}}
    )
    plan = run_program("dev", config, PROGRAM)
    assert plan.of_type("aws:ec2/vpc:Vpc") == []
    assert plan.outputs["vpcId"] == "vpc-0abc1234"
    cluster = plan.of_type("aws:eks/cluster:Cluster")[0]
    assert cluster.inputs["vpcConfig"]["subnetIds"] == ["subnet-0a", "subnet-0b"]


def test_existing_vpc_and_a_cidr_conflict(dev_config):
    config = _section(
        dev_config, "network", existing={"vpcId": "vpc-0abc1234", "privateSubnetIds": ["subnet-0a", "subnet-0b"]}
    )
    with pytest.raises(ConfigError, match="network.existing: use either an existing VPC or vpcCidr"):
        parse_config(project_keys(config))
