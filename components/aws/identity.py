"""IRSA: an IAM role that exactly one Kubernetes service account can assume."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws import iam_documents
from components.handle import IdentityBinder
from components.options import child_options

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"


@dataclass(frozen=True)
class Oidc:
    provider_arn: pulumi.Output[str]
    issuer_url: pulumi.Output[str]


@dataclass(frozen=True)
class IrsaRoleArgs:
    oidc: Oidc
    namespace: str
    service_account: str
    tags: dict[str, str]
    # The permissions policy, built from resolved values (ARNs); None for managed policies only.
    policy: pulumi.Output[dict] | None = None
    managed_policy_arns: tuple[str, ...] = ()


class IrsaRole(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    annotations: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: IrsaRoleArgs, *, provider: aws.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rayplat:aws:IrsaRole", name, None, opts)
        child = child_options(self, provider, opts)
        trust = pulumi.Output.all(args.oidc.provider_arn, args.oidc.issuer_url).apply(
            lambda v: json.dumps(iam_documents.irsa_trust(v[0], v[1], args.namespace, args.service_account))
        )
        role = aws.iam.Role(
            name,
            assume_role_policy=trust,
            description=f"IRSA role of {args.namespace}/{args.service_account}",
            tags=args.tags,
            opts=child,
        )
        if args.policy is not None:
            policy = aws.iam.Policy(name, policy=args.policy.apply(json.dumps), tags=args.tags, opts=child)
            aws.iam.RolePolicyAttachment(name, role=role.name, policy_arn=policy.arn, opts=child)
        for arn in args.managed_policy_arns:
            aws.iam.RolePolicyAttachment(f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=child)
        self.role_arn = role.arn
        self.annotations = role.arn.apply(lambda arn: {ROLE_ARN_ANNOTATION: arn})
        self.register_outputs({"role_arn": self.role_arn})


def artifact_binder(
    *,
    oidc: Oidc,
    bucket_arn: pulumi.Output[str],
    key_arn: pulumi.Output[str],
    tags: dict[str, str],
    provider: aws.Provider,
    parent: pulumi.Resource,
) -> IdentityBinder:
    """An IdentityBinder whose roles reach the artifact bucket (or one prefix of it) and its key only."""

    def bind(
        name: str,
        namespace: str,
        service_account: str,
        *,
        prefix: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> pulumi.Output[dict[str, str]]:
        policy = pulumi.Output.all(bucket_arn, key_arn).apply(
            lambda v: iam_documents.artifact_access(v[0], v[1], prefix)
        )
        role = IrsaRole(
            name,
            IrsaRoleArgs(oidc=oidc, namespace=namespace, service_account=service_account, tags=tags, policy=policy),
            provider=provider,
            opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=parent), opts),
        )
        return role.annotations

    return bind
