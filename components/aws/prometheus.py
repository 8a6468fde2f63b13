"""Amazon Managed Prometheus: a workspace, and an IRSA role that may only remote-write into it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws import iam_documents
from components.aws.identity import IrsaRole, IrsaRoleArgs, Oidc
from components.options import require


def remote_write_entry(endpoint: str, region: str) -> dict[str, Any]:
    """Prometheus' remoteWrite entry for a workspace, signed with SigV4 by the pod's IRSA credentials."""
    return {
        "url": f"{require(endpoint, 'Managed Prometheus workspace endpoint').rstrip('/')}/api/v1/remote_write",
        "sigv4": {"region": region},
        "queueConfig": {"maxSamplesPerSend": 1000, "capacity": 2500, "maxShards": 200},
    }


def managed_prometheus(
    *, name: str, region: str, oidc: Oidc, tags: dict[str, str], provider: aws.Provider, parent: pulumi.Resource
) -> Callable[[str, str], pulumi.Output[dict[str, Any]]]:
    def connect(namespace: str, service_account: str) -> pulumi.Output[dict[str, Any]]:
        opts = pulumi.ResourceOptions(parent=parent, provider=provider)
        workspace = aws.amp.Workspace(name, alias=name, tags=tags, opts=opts)
        role = IrsaRole(
            f"{name}-writer",
            IrsaRoleArgs(
                oidc=oidc,
                namespace=namespace,
                service_account=service_account,
                tags=tags,
                policy=workspace.arn.apply(iam_documents.remote_write),
            ),
            provider=provider,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        return pulumi.Output.all(workspace.prometheus_endpoint, role.annotations).apply(
            lambda v: {"remoteWrite": remote_write_entry(v[0], region), "annotations": v[1]}
        )

    return connect
