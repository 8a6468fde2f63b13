"""The Redis (ElastiCache, Valkey engine) that keeps a Ray head's GCS state across a head failure: one per
highly available team cluster, in the private subnets, reachable from the cluster's nodes only, TLS in
transit, an auth token, encrypted at rest, kept in production."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from catalog import versions
from components.handle import GcsRedis

REDIS_PORT = 6379


@dataclass(frozen=True)
class GcsStoreArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    # The security group of the cluster's nodes (EKS's cluster security group): the only source admitted.
    node_security_group_id: pulumi.Input[str]
    tags: dict[str, str]
    protect: bool = False


def gcs_store_factory(args: GcsStoreArgs, *, provider: aws.Provider, parent: pulumi.Resource):
    """A function (name, team) -> the team cluster's Redis, created under ``parent``."""

    def create(name: str, team: str) -> GcsRedis:
        child = pulumi.ResourceOptions(parent=parent, provider=provider)
        stateful = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect)
        )
        tags = args.tags
        token = random.RandomPassword(name, length=64, special=False, opts=pulumi.ResourceOptions(parent=parent))
        subnets = aws.elasticache.SubnetGroup(
            name, description=f"Ray GCS store of team {team}", subnet_ids=args.subnet_ids, tags=tags, opts=child
        )
        group = aws.ec2.SecurityGroup(
            name,
            description=f"Ray GCS store of team {team}: Redis from the cluster's nodes only",
            vpc_id=args.vpc_id,
            tags=tags,
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            name,
            security_group_id=group.id,
            referenced_security_group_id=args.node_security_group_id,
            ip_protocol="tcp",
            from_port=REDIS_PORT,
            to_port=REDIS_PORT,
            description="Redis (TLS) from the cluster's nodes",
            tags=tags,
            opts=child,
        )
        redis = aws.elasticache.ReplicationGroup(
            name,
            description=f"Ray GCS fault tolerance, team {team}",
            engine="valkey",
            engine_version=versions.VALKEY_VERSION,
            node_type="cache.t4g.small",
            num_cache_clusters=2,
            automatic_failover_enabled=True,
            multi_az_enabled=True,
            port=REDIS_PORT,
            subnet_group_name=subnets.name,
            security_group_ids=[group.id],
            transit_encryption_enabled=True,
            at_rest_encryption_enabled=True,
            auth_token=token.result,
            snapshot_retention_limit=7 if args.protect else 0,
            tags=tags,
            opts=stateful,
        )
        address = pulumi.Output.concat("rediss://", redis.primary_endpoint_address, f":{REDIS_PORT}")
        return GcsRedis(address=address, password=token.result)

    return create
