"""An ECR pull-through cache of Docker Hub: the nodes pull the Ray images from the cluster's region, and ECR
fetches each from Docker Hub once, with the credential the stack names."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from catalog import versions
from catalog.registries import ECR_CACHE_PREFIX
from components.aws import iam_documents
from components.aws.account import AwsAccount


@dataclass(frozen=True)
class EcrImageCacheArgs:
    cluster_name: str
    # Where the nodes pull the cached images from (catalog.registries.ecr_mirror of the stack's account).
    mirror: str
    # The Secrets Manager secret (ecr-pullthroughcache/...) holding the Docker Hub username and access token.
    credential_arn: str
    # The roles of the nodes that pull through the cache.
    node_roles: list[pulumi.Input[str]]
    tags: dict[str, str]


class EcrImageCache(pulumi.ComponentResource):
    # args.mirror, once the nodes may pull through the rule.
    mirror: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: EcrImageCacheArgs,
        *,
        provider: aws.Provider,
        account: AwsAccount,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rayplat:aws:EcrImageCache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        rule = aws.ecr.PullThroughCacheRule(
            name,
            ecr_repository_prefix=ECR_CACHE_PREFIX,
            upstream_registry_url=versions.DOCKER_HUB,
            credential_arn=args.credential_arn,
            opts=child,
        )
        policy = aws.iam.Policy(
            f"{name}-pull",
            name=f"{args.cluster_name}-image-cache-pull",
            policy=pulumi.Output.all(account.account_id, account.partition).apply(
                lambda v: json.dumps(iam_documents.ecr_pull_through(v[0], account.region, ECR_CACHE_PREFIX, v[1]))
            ),
            tags=args.tags,
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-pull-{i}", role=role, policy_arn=policy.arn, opts=child)
            for i, role in enumerate(args.node_roles)
        ]
        # Pods naming the mirror wait for the rule and for their nodes' permission to pull through it.
        self.mirror = pulumi.Output.all(rule.id, *(a.id for a in attachments)).apply(lambda _: args.mirror)
        self.register_outputs({"mirror": self.mirror})
