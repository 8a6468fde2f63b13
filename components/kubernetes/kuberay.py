"""The KubeRay operator, pinned, with its CRDs managed as their own server-side-applied resources."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from catalog import versions
from components.helm import pinned_release
from components.kubernetes import manifests
from components.kubernetes.observability.monitors import RELEASE_LABEL
from components.nodes import PoolSpec
from components.options import child_options

NAMESPACE = "kuberay-system"
# The chart's pod labels (nameOverride): what the operator's disruption budget selects.
OPERATOR_LABELS = {"app.kubernetes.io/name": "kuberay-operator"}


@dataclass(frozen=True)
class KubeRayArgs:
    system_pool: PoolSpec
    cost_labels: dict[str, str]
    service_monitor: bool = False
    # Protected environments: two replicas, one leading, and a disruption budget that keeps one.
    replicas: int = 1


def operator_values(args: KubeRayArgs) -> dict:
    repository, tag = versions.KUBERAY_OPERATOR_IMAGE.rsplit(":", 1)
    return {
        "image": {"repository": repository, "tag": tag},
        "nodeSelector": args.system_pool.selector,
        "labels": args.cost_labels,
        "replicas": args.replicas,
        "leaderElectionEnabled": True,
        "resources": {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}},
        "metrics": {
            "enabled": True,
            "serviceMonitor": {"enabled": args.service_monitor, "additionalLabels": RELEASE_LABEL},
        },
    }


class KubeRayOperator(pulumi.ComponentResource):
    """The operator's release; depending on this component waits for the CRDs and the operator."""

    release: k8s.helm.v3.Release

    def __init__(
        self, name: str, args: KubeRayArgs, *, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rayplat:kubernetes:KubeRayOperator", name, None, opts)
        child = child_options(self, provider, opts)
        # Helm never upgrades a chart's crds/, and these CRDs exceed the client-side apply annotation limit:
        # they are applied server-side from the upstream release tag, pinned with the operator.
        crds = k8s.yaml.v2.ConfigGroup(f"{name}-crds", files=list(versions.KUBERAY_CRD_URLS), opts=child)
        namespace = k8s.core.v1.Namespace(
            NAMESPACE,
            metadata=manifests.namespace(NAMESPACE, args.cost_labels, "restricted")["metadata"],
            opts=child,
        )
        self.release = pinned_release(
            name,
            versions.KUBERAY_OPERATOR,
            namespace=namespace.metadata.name,
            values=operator_values(args),
            skip_crds=True,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[crds])),
        )
        if args.replicas > 1:
            budget = manifests.disruption_budget("kuberay-operator", NAMESPACE, OPERATOR_LABELS)
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb", metadata=budget["metadata"], spec=budget["spec"], opts=child
            )
        self.register_outputs({"version": versions.KUBERAY_OPERATOR.version})
