"""Security groups of the platform's private data stores: one port, from the cluster's nodes only."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def from_cluster_nodes(
    name: str,
    *,
    description: str,
    rule_description: str,
    vpc_id: pulumi.Input[str],
    node_security_group_id: pulumi.Input[str],
    port: int,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.ec2.SecurityGroup:
    """A security group admitting TCP ``port`` from the cluster's node security group and nothing else."""
    group = aws.ec2.SecurityGroup(name, description=description, vpc_id=vpc_id, tags=tags, opts=opts)
    aws.vpc.SecurityGroupIngressRule(
        name,
        security_group_id=group.id,
        referenced_security_group_id=node_security_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=rule_description,
        tags=tags,
        opts=opts,
    )
    return group
