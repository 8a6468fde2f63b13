"""Workload Identity: a Google service account per Kubernetes service account, with object access on the
artifact bucket only (on one prefix of it, when given)."""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_gcp as gcp

from components.handle import IdentityBinder
from components.options import child_options

GSA_ANNOTATION = "iam.gke.io/gcp-service-account"
OBJECT_ROLE = "roles/storage.objectUser"


def account_id(name: str) -> str:
    """A service account id (6 to 30 characters) from a resource name; long names keep a hash of the rest."""
    if len(name) <= 30:
        return name
    return f"{name[:23]}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def prefix_condition(bucket: str, prefix: str) -> str:
    """An IAM condition that limits object access to names under ``prefix``."""
    return f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{prefix.strip("/")}/")'


class WorkloadIdentity(pulumi.ComponentResource):
    annotations: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        name: str,
        *,
        project: str,
        workload_pool: str,
        namespace: str,
        service_account: str,
        bucket: pulumi.Output[str],
        prefix: str | None,
        provider: gcp.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rayplat:gcp:WorkloadIdentity", name, None, opts)
        child = child_options(self, provider, opts)
        account = gcp.serviceaccount.Account(
            name,
            account_id=account_id(name),
            display_name=f"Kubernetes {namespace}/{service_account}",
            project=project,
            opts=child,
        )
        gcp.serviceaccount.IAMMember(
            name,
            service_account_id=account.name,
            role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{workload_pool}[{namespace}/{service_account}]",
            opts=child,
        )
        condition = None
        if prefix:
            condition = bucket.apply(
                lambda b: gcp.storage.BucketIAMMemberConditionArgs(
                    title=f"prefix {prefix}", expression=prefix_condition(b, prefix)
                )
            )
        gcp.storage.BucketIAMMember(
            name,
            bucket=bucket,
            role=OBJECT_ROLE,
            member=account.email.apply(lambda email: f"serviceAccount:{email}"),
            condition=condition,
            opts=child,
        )
        self.annotations = account.email.apply(lambda email: {GSA_ANNOTATION: email})
        self.register_outputs({"email": account.email})


def workload_identity_binder(
    *, project: str, workload_pool: str, bucket: pulumi.Output[str], provider: gcp.Provider, parent: pulumi.Resource
) -> IdentityBinder:
    def bind(
        name: str,
        namespace: str,
        service_account: str,
        *,
        prefix: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> pulumi.Output[dict[str, str]]:
        return WorkloadIdentity(
            name,
            project=project,
            workload_pool=workload_pool,
            namespace=namespace,
            service_account=service_account,
            bucket=bucket,
            prefix=prefix,
            provider=provider,
            opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=parent), opts),
        ).annotations

    return bind
