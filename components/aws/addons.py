"""EKS managed add-ons, pinned, with IRSA roles for the two that call AWS APIs."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from catalog import versions
from components.aws.identity import IrsaRole, IrsaRoleArgs, Oidc
from components.options import child_options

# add-on -> (service account in kube-system, AWS managed policy) for add-ons that call AWS APIs.
_ADDON_IDENTITIES = {
    "vpc-cni": ("aws-node", "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"),
    "aws-ebs-csi-driver": ("ebs-csi-controller-sa", "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"),
}

# The add-ons' configuration values (`aws eks describe-addon-configuration`). The VPC CNI enforces
# Kubernetes NetworkPolicies only with its network policy agent on: without it every team policy is inert.
# The agent runs in the aws-node pods and calls no AWS API, so neither the node role nor the add-on's IRSA
# role needs more; EKS runs the network policy controller in the control plane.
ADDON_CONFIGURATION = {"vpc-cni": {"enableNetworkPolicy": "true"}}


@dataclass(frozen=True)
class CoreAddonsArgs:
    cluster_name: pulumi.Input[str]
    oidc: Oidc
    tags: dict[str, str]


class CoreAddons(pulumi.ComponentResource):
    addons: list[aws.eks.Addon]

    def __init__(
        self, name: str, args: CoreAddonsArgs, *, provider: aws.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rayplat:aws:CoreAddons", name, None, opts)
        child = child_options(self, provider, opts)
        self.addons = []
        for addon, version in versions.EKS_ADDONS.items():
            role_arn = None
            if addon in _ADDON_IDENTITIES:
                service_account, policy_arn = _ADDON_IDENTITIES[addon]
                role_arn = IrsaRole(
                    f"{name}-{addon}",
                    IrsaRoleArgs(
                        oidc=args.oidc,
                        namespace="kube-system",
                        service_account=service_account,
                        tags=args.tags,
                        managed_policy_arns=(policy_arn,),
                    ),
                    provider=provider,
                    opts=pulumi.ResourceOptions(parent=self),
                ).role_arn
            self.addons.append(
                aws.eks.Addon(
                    f"{name}-{addon}",
                    cluster_name=args.cluster_name,
                    addon_name=addon,
                    addon_version=version,
                    service_account_role_arn=role_arn,
                    configuration_values=json.dumps(ADDON_CONFIGURATION[addon])
                    if addon in ADDON_CONFIGURATION
                    else None,
                    resolve_conflicts_on_create="OVERWRITE",
                    resolve_conflicts_on_update="PRESERVE",
                    tags=args.tags,
                    opts=child,
                )
            )
        self.register_outputs({})
