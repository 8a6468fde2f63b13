"""Helm releases of pinned charts: every release the platform installs goes through here."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from catalog.versions import HelmChart


def pinned_release(
    resource_name: str,
    chart: HelmChart,
    *,
    namespace: pulumi.Input[str],
    values: pulumi.Input[dict[str, Any]],
    opts: pulumi.ResourceOptions,
    skip_crds: bool = False,
) -> k8s.helm.v3.Release:
    """A release named after its chart, at the pinned version, rolled back whole if it fails."""
    oci = chart.repository.startswith("oci://")
    return k8s.helm.v3.Release(
        resource_name,
        name=chart.name,
        chart=f"{chart.repository}/{chart.name}" if oci else chart.name,
        version=chart.version,
        repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
        namespace=namespace,
        skip_crds=skip_crds,
        atomic=True,
        values=values,
        opts=opts,
    )
