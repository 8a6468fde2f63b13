"""Kubernetes and Ray: pinned charts and images, Ray pods sized and tolerating GPUs, no public Ray endpoints,
labelled namespaces."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pulumi_policy import Severity

from components import versions
from components.tagging import REQUIRED_COST_TAGS
from policies.rules import Rule, Subject, as_list, dig, plain, resource_rule

RELEASE = ("kubernetes:helm.sh/v3:Release",)
RAY_KINDS = (
    "kubernetes:ray.io/v1:RayCluster",
    "kubernetes:ray.io/v1:RayJob",
    "kubernetes:ray.io/v1:RayService",
    "kubernetes:ray.io/v1:RayCronJob",
)
SERVICE = ("kubernetes:core/v1:Service",)
NAMESPACE = ("kubernetes:core/v1:Namespace",)
GPU_RESOURCE = "nvidia.com/gpu"
RAY_PORTS = (6379, 8265, 10001)
_EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")
_DEFAULT_REPOSITORIES = sorted(
    {chart.repository for chart in vars(versions).values() if isinstance(chart, versions.HelmChart)}
)


def cluster_specs(subject: Subject) -> list[dict[str, Any]]:
    """The RayCluster specs inside any Ray custom resource."""
    spec = plain(subject.get("spec", default={}))
    kind = subject.type.rsplit(":", 1)[-1]
    found = {
        "RayCluster": spec,
        "RayJob": spec.get("rayClusterSpec"),
        "RayService": spec.get("rayClusterConfig"),
        "RayCronJob": dig(spec, "jobTemplate", "rayClusterSpec"),
    }[kind]
    return [found] if found else []


def ray_groups(subject: Subject) -> Iterable[tuple[str, dict[str, Any]]]:
    """(group name, pod spec) of the head and of every worker group."""
    for spec in cluster_specs(subject):
        yield "head", dig(spec, "headGroupSpec", "template", "spec", default={})
        for group in as_list(spec.get("workerGroupSpecs")):
            yield group.get("groupName", "worker"), dig(group, "template", "spec", default={})


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*as_list(pod.get("initContainers")), *as_list(pod.get("containers"))]


def _release_pinned(subject: Subject, config) -> Iterable[str]:
    version = str(subject.get("version", default=""))
    if not _EXACT_VERSION.match(version):
        yield f"chart {subject.get('chart')} is not pinned to an exact version ({version or 'none'})"
    chart = str(subject.get("chart", default=""))
    repository = chart.rsplit("/", 1)[0] if chart.startswith("oci://") else subject.get("repositoryOpts", "repo")
    if repository not in config["allowedRepositories"]:
        yield f"chart repository {repository or '(none)'} is not an allowed repository"


def _kuberay_pinned(subject: Subject, config) -> Iterable[str]:
    if subject.get("chart") != versions.KUBERAY_OPERATOR.name:
        return
    pinned = config["kuberayVersion"]
    if subject.get("version") != pinned:
        yield f"kuberay-operator chart {subject.get('version')} is not the platform's {pinned}"
    tag = subject.get("values", "image", "tag")
    if tag is not None and tag != f"v{pinned}":
        yield f"operator image tag {tag} is not v{pinned}"


def _ray_image(subject: Subject, config) -> Iterable[str]:
    for group, pod in ray_groups(subject):
        for container in as_list(pod.get("containers")):
            image = container.get("image", "")
            tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
            if not tag or tag == "latest":
                yield f"{group}: image {image or '(none)'} is not pinned"
            elif config["rayVersion"] not in tag:
                yield f"{group}: image {image} is not Ray {config['rayVersion']}, the version clients and pins use"


def _pod_resources(subject: Subject, _config) -> Iterable[str]:
    for group, pod in ray_groups(subject):
        for container in _containers(pod):
            requests = dig(container, "resources", "requests", default={})
            limits = dig(container, "resources", "limits", default={})
            missing = [f"requests.{r}" for r in ("cpu", "memory") if r not in requests]
            missing += [] if "memory" in limits else ["limits.memory"]
            if missing:
                yield f"{group}/{container.get('name', '?')}: no {', '.join(missing)}"


def _gpu_toleration(subject: Subject, _config) -> Iterable[str]:
    for group, pod in ray_groups(subject):
        wants_gpu = any(GPU_RESOURCE in dig(c, "resources", "limits", default={}) for c in _containers(pod))
        tolerates = any(t.get("key") == GPU_RESOURCE for t in as_list(pod.get("tolerations")))
        if wants_gpu and not tolerates:
            yield f"{group} requests GPUs but does not tolerate the {GPU_RESOURCE} taint of GPU nodes"


def _no_load_balancer(subject: Subject, _config) -> Iterable[str]:
    if subject.type in SERVICE:
        if subject.get("spec", "type") != "LoadBalancer":
            return
        selector = subject.get("spec", "selector", default={})
        ports = [p.get("port") for p in as_list(subject.get("spec", "ports"))]
        if "ray.io/cluster" in selector or selector.get("ray.io/node-type") == "head" or set(ports) & set(RAY_PORTS):
            yield "a LoadBalancer service exposes a Ray head (GCS, dashboard or client: no authentication)"
        return
    for spec in cluster_specs(subject):
        if dig(spec, "headGroupSpec", "serviceType") == "LoadBalancer":
            yield "the head service is a LoadBalancer: Ray's dashboard and GCS have no authentication"


def _namespace_labels(subject: Subject, config) -> Iterable[str]:
    labels = subject.get("metadata", "labels", default={})
    missing = [k for k in config["requiredLabels"] if not labels.get(k)]
    if missing:
        yield f"namespace lacks cost labels {', '.join(missing)}"


def _pod_security(subject: Subject, _config) -> Iterable[str]:
    level = subject.get("metadata", "labels", "pod-security.kubernetes.io/enforce")
    if level not in ("baseline", "restricted"):
        yield f"Pod Security is not enforced at baseline or restricted ({level or 'no label'})"


POLICIES: list[Rule] = [
    resource_rule(
        name="helm-release-pinned",
        area="kubernetes",
        severity=Severity.HIGH,
        types=RELEASE,
        check=_release_pinned,
        config={
            "allowedRepositories": {"type": "array", "items": {"type": "string"}, "default": _DEFAULT_REPOSITORIES}
        },
        description="Helm releases install an exact chart version from an allowed repository.",
        remediation="Pin the chart in components/versions.py, from a repository on the allow-list.",
    ),
    resource_rule(
        name="kuberay-operator-pinned",
        area="kubernetes",
        severity=Severity.HIGH,
        types=RELEASE,
        check=_kuberay_pinned,
        config={"kuberayVersion": {"type": "string", "default": versions.KUBERAY_VERSION}},
        description="The KubeRay operator runs the platform's pinned version, the one its CRDs come from.",
        remediation="Upgrade through components/versions.py, CRDs first (docs/runbooks).",
    ),
    resource_rule(
        name="ray-image-pinned",
        area="ray",
        severity=Severity.HIGH,
        types=RAY_KINDS,
        check=_ray_image,
        config={"rayVersion": {"type": "string", "default": versions.RAY_VERSION}},
        description="Ray containers use an image pinned to the platform's Ray version, never 'latest'.",
        remediation=f"Use {versions.RAY_IMAGE} (or -gpu), or an image built from it with the same Ray version.",
    ),
    resource_rule(
        name="ray-pod-resources",
        area="ray",
        severity=Severity.MEDIUM,
        types=RAY_KINDS,
        check=_pod_resources,
        description="Every Ray container requests CPU and memory and limits memory.",
        remediation="Set resources.requests.cpu/memory and resources.limits.memory on head and worker containers.",
    ),
    resource_rule(
        name="ray-gpu-workers-tolerate-taint",
        area="ray",
        severity=Severity.HIGH,
        types=RAY_KINDS,
        check=_gpu_toleration,
        description="Ray groups that request GPUs tolerate the GPU taint, or they never schedule.",
        remediation="Add the toleration {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}.",
    ),
    resource_rule(
        name="ray-no-public-load-balancer",
        area="ray",
        severity=Severity.CRITICAL,
        types=(*SERVICE, *RAY_KINDS),
        check=_no_load_balancer,
        description="No LoadBalancer service puts a Ray head, dashboard or client port in front of a network.",
        remediation="Use a ClusterIP head service; reach the dashboard with kubectl port-forward or an "
        "authenticating proxy.",
    ),
    resource_rule(
        name="namespace-cost-labels",
        area="kubernetes",
        severity=Severity.MEDIUM,
        types=NAMESPACE,
        check=_namespace_labels,
        config={"requiredLabels": {"type": "array", "items": {"type": "string"}, "default": list(REQUIRED_COST_TAGS)}},
        description="Namespaces carry the cost labels (team, env, owner, department, app) that OpenCost reads.",
        remediation="Create namespaces through the platform, which copies the stack's cost tags onto them.",
    ),
    resource_rule(
        name="namespace-pod-security",
        area="kubernetes",
        severity=Severity.HIGH,
        types=NAMESPACE,
        check=_pod_security,
        description="Namespaces enforce the baseline or restricted Pod Security Standard.",
        remediation="Label the namespace pod-security.kubernetes.io/enforce=baseline (or restricted).",
    ),
]
