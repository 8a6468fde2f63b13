"""Keys and the network edge: rotating KMS keys, no ingress from the internet, Ray's ports never public."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pulumi_policy import Severity

from catalog.ray_ports import RAY_HEAD_PORTS
from policies.rules import Rule, Subject, as_list, resource_rule

KMS_KEY = ("aws:kms/key:Key",)
SECURITY_GROUP = ("aws:ec2/securityGroup:SecurityGroup",)
GROUP_RULES = (
    "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
)
WORLD = ("0.0.0.0/0", "::/0")


def _rotation(subject: Subject, _config) -> Iterable[str]:
    symmetric = subject.get("customerMasterKeySpec", default="SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
    if symmetric and subject.get("enableKeyRotation") is not True:
        yield "automatic key rotation is off"


def _ingress_rules(subject: Subject) -> Iterable[dict[str, Any]]:
    """Every ingress rule of a group or standalone rule, as {from, to, cidrs}."""
    if subject.type in SECURITY_GROUP:
        for rule in as_list(subject.get("ingress")):
            yield _rule(
                rule.get("fromPort"),
                rule.get("toPort"),
                [*as_list(rule.get("cidrBlocks")), *as_list(rule.get("ipv6CidrBlocks"))],
            )
    elif subject.type == GROUP_RULES[0]:
        if subject.get("type") == "ingress":
            yield _rule(
                subject.get("fromPort"),
                subject.get("toPort"),
                [*as_list(subject.get("cidrBlocks")), *as_list(subject.get("ipv6CidrBlocks"))],
            )
    else:
        yield _rule(
            subject.get("fromPort"),
            subject.get("toPort"),
            [c for c in (subject.get("cidrIpv4"), subject.get("cidrIpv6")) if c],
        )


def _rule(from_port, to_port, cidrs: list[str]) -> dict[str, Any]:
    low = 0 if from_port in (None, -1) else int(from_port)
    high = 65535 if to_port in (None, -1) else int(to_port)
    return {"from": low, "to": high, "cidrs": cidrs}


def _world_ingress(subject: Subject, config) -> Iterable[str]:
    for rule in _ingress_rules(subject):
        open_to = [c for c in rule["cidrs"] if c in WORLD]
        allowed = rule["from"] == rule["to"] and rule["from"] in config["allowedPorts"]
        if open_to and not allowed:
            yield f"ports {rule['from']}-{rule['to']} are open to {', '.join(open_to)}"


def _ray_ports(subject: Subject, _config) -> Iterable[str]:
    for rule in _ingress_rules(subject):
        if any(c in WORLD for c in rule["cidrs"]):
            exposed = [p for p in RAY_HEAD_PORTS if rule["from"] <= p <= rule["to"]]
            if exposed:
                yield f"Ray ports {', '.join(map(str, exposed))} (no authentication) are open to the internet"


POLICIES: list[Rule] = [
    resource_rule(
        name="kms-key-rotation",
        area="network",
        severity=Severity.MEDIUM,
        types=KMS_KEY,
        check=_rotation,
        description="Symmetric KMS keys rotate automatically.",
        controls=("AWS Security Hub KMS.4", "CIS AWS Foundations 3.6", "EKS BP Data: Rotate your CMKs periodically"),
        remediation="Set enableKeyRotation to true.",
    ),
    resource_rule(
        name="sg-no-world-ingress",
        area="network",
        severity=Severity.HIGH,
        types=(*SECURITY_GROUP, *GROUP_RULES),
        check=_world_ingress,
        config={
            "allowedPorts": {
                "type": "array",
                "items": {"type": "integer"},
                "default": [],
                "description": "Single ports that may be reached from anywhere (reviewed).",
            }
        },
        description="Security groups admit no traffic from 0.0.0.0/0 or ::/0.",
        controls=("AWS FSBP EC2.18", "AWS FSBP EC2.19", "CIS AWS Foundations 5.3", "CIS AWS Foundations 5.4"),
        remediation="Admit the VPC, a load balancer's security group, or listed CIDRs instead of the internet.",
    ),
    resource_rule(
        name="sg-ray-ports-never-public",
        area="network",
        severity=Severity.CRITICAL,
        types=(*SECURITY_GROUP, *GROUP_RULES),
        check=_ray_ports,
        description="Ray's GCS (6379), dashboard (8265) and client (10001) ports are never open to the internet.",
        controls=("AWS FSBP EC2.18",),
        remediation="Reach Ray through kubectl port-forward or an authenticating proxy; never expose these ports.",
    ),
]
