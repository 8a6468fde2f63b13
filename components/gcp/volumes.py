"""A StorageClass for volumes that hold state: balanced persistent disks (encrypted at rest by Compute
Engine), labelled with the cost labels, kept when their claim goes (reclaimPolicy Retain)."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_kubernetes as k8s

RETAINED_CLASS = "pd-balanced-retain"


def disk_labels(labels: dict[str, str]) -> str:
    """The PD CSI driver's `labels` parameter: the labels it puts on every disk it creates."""
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def retained_storage_class(
    name: str, labels: dict[str, str], *, provider: k8s.Provider, parent: pulumi.Resource
) -> Callable[[], tuple[pulumi.Input[str], list[pulumi.Resource]]]:
    """A function () -> the StorageClass's name and the class itself, created on first use only."""
    created: list[pulumi.Resource] = []

    def get() -> tuple[pulumi.Input[str], list[pulumi.Resource]]:
        if not created:
            created.append(
                k8s.storage.v1.StorageClass(
                    name,
                    metadata={"name": RETAINED_CLASS},
                    provisioner="pd.csi.storage.gke.io",
                    parameters={"type": "pd-balanced", "labels": disk_labels(labels)},
                    reclaim_policy="Retain",
                    volume_binding_mode="WaitForFirstConsumer",
                    allow_volume_expansion=True,
                    opts=pulumi.ResourceOptions(parent=parent, provider=provider),
                )
            )
        return RETAINED_CLASS, created

    return get
