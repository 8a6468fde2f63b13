"""Kubernetes and Ray: pinned charts and images, Ray pods sized and tolerating GPUs, no public Ray endpoints,
labelled namespaces that enforce Pod Security (restricted for teams), encrypted volumes."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from typing import Any

from pulumi_policy import Severity

from catalog import versions
from catalog.labels import TEAM_LABEL
from catalog.ray_ports import RAY_HEAD_PORTS
from catalog.tagging import REQUIRED_COST_TAGS
from policies.objects import NAME_LABEL, TEAM_NAMESPACES, mapping, mappings, namespace_labels, parse_image, unpinned
from policies.ray_pods import RAY_KINDS, cluster_spec, ray_pods, template_pods
from policies.rules import Rule, Subject, dig, resource_rule

RELEASE = ("kubernetes:helm.sh/v3:Release",)
CHARTS = (*RELEASE, "kubernetes:helm.sh/v4:Chart")
SERVICE = ("kubernetes:core/v1:Service",)
NAMESPACE = ("kubernetes:core/v1:Namespace",)
STORAGE_CLASS = ("kubernetes:storage.k8s.io/v1:StorageClass",)
GPU_RESOURCE = "nvidia.com/gpu"
_EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")
_DEFAULT_REPOSITORIES = sorted(
    {chart.repository for chart in vars(versions).values() if isinstance(chart, versions.HelmChart)}
)
PSS_CONTROLS = ("CIS GKE 4.2.1", "CIS Kubernetes 5.2.1")
PINNED = "OpenSSF Scorecard: Pinned-Dependencies"
RAY_EXPOSURE = "Ray security guide: expose no Ray service to untrusted users"
# Provisioners (besides GCE PD) whose volumes are encrypted at rest whatever the StorageClass says;
# EBS volumes are encrypted only when asked.
ENCRYPTED_BY_DEFAULT = ["disk.csi.azure.com", "file.csi.azure.com"]
EBS_PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs")
GCE_PD_PROVISIONERS = ("pd.csi.storage.gke.io", "kubernetes.io/gce-pd")


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*mappings(pod.get("initContainers")), *mappings(pod.get("containers"))]


def _repository(subject: Subject) -> str:
    chart = str(subject.get("chart", default=""))
    if chart.startswith("oci://"):
        return chart.rsplit("/", 1)[0]
    return str(subject.get("repositoryOpts", "repo", default=""))


def _release_pinned(subject: Subject, config) -> Iterable[str]:
    version = str(subject.get("version", default=""))
    if not _EXACT_VERSION.match(version):
        yield f"chart {subject.get('chart')} is not pinned to an exact version ({version or 'none'})"
    repository = _repository(subject)
    allowed = {r.rstrip("/") for r in config["allowedRepositories"]}
    if repository.startswith("http://"):
        yield f"chart repository {repository} is plain HTTP: anyone on the path can swap the chart"
    elif repository.rstrip("/") not in allowed:
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
    for pod in ray_pods(subject):
        for container in pod.containers():
            image = container.get("image")
            if not isinstance(image, str) or not image:
                yield f"{pod.where}: container {container.get('name', '?')} names no image"
            elif unpinned(parse_image(image)):
                yield f"{pod.where}: image {image} is not pinned ({unpinned(parse_image(image))})"
        # KubeRay takes the first container for the Ray container.
        ray = parse_image(str(dig(mappings(pod.spec.get("containers")), 0, "image", default="")))
        version = config["rayVersion"]
        if ray.tag and not ray.digest and not unpinned(ray) and version not in ray.tag:
            yield f"{pod.where}: image {ray.reference} is not Ray {version}, the version clients and pins use"


def _pod_resources(subject: Subject, _config) -> Iterable[str]:
    for template in template_pods(subject):
        group, pod = template.where, template.spec
        for container in _containers(pod):
            requests = dig(container, "resources", "requests", default={})
            limits = dig(container, "resources", "limits", default={})
            missing = [f"requests.{r}" for r in ("cpu", "memory") if r not in requests]
            missing += [] if "memory" in limits else ["limits.memory"]
            if missing:
                yield f"{group}/{container.get('name', '?')}: no {', '.join(missing)}"


def _gpu_toleration(subject: Subject, _config) -> Iterable[str]:
    for template in template_pods(subject):
        pod = template.spec
        wants_gpu = any(GPU_RESOURCE in dig(c, "resources", "limits", default={}) for c in _containers(pod))
        tolerates = any(t.get("key") == GPU_RESOURCE for t in mappings(pod.get("tolerations")))
        if wants_gpu and not tolerates:
            yield f"{template.where} requests GPUs but does not tolerate the {GPU_RESOURCE} taint of GPU nodes"


def _no_load_balancer(subject: Subject, _config) -> Iterable[str]:
    if subject.type in SERVICE:
        if subject.get("spec", "type") != "LoadBalancer":
            return
        selector = mapping(subject.get("spec", "selector"))
        ports = [p.get("port") for p in mappings(subject.get("spec", "ports"))]
        selects_head = "ray.io/cluster" in selector or selector.get("ray.io/node-type") == "head"
        if selects_head or set(ports) & set(RAY_HEAD_PORTS):
            yield "a LoadBalancer service exposes a Ray head (GCS, dashboard or client: no authentication)"
        return
    if dig(cluster_spec(subject) or {}, "headGroupSpec", "serviceType") == "LoadBalancer":
        yield "the head service is a LoadBalancer: Ray's dashboard and GCS have no authentication"


def _namespace_labels(subject: Subject, config) -> Iterable[str]:
    labels = mapping(subject.get("metadata", "labels"))
    missing = [k for k in config["requiredLabels"] if not labels.get(k)]
    if missing:
        yield f"namespace lacks cost labels {', '.join(missing)}"


def _must_be_restricted(subject: Subject, config) -> bool:
    labels = namespace_labels(subject)
    name = labels[NAME_LABEL]
    return any(labels.get(k) for k in config["restrictedLabels"]) or any(
        fnmatch.fnmatchcase(name, pattern) for pattern in config["restrictedNamespaces"]
    )


def _pod_security(subject: Subject, config) -> Iterable[str]:
    level = namespace_labels(subject).get("pod-security.kubernetes.io/enforce")
    if _must_be_restricted(subject, config):
        if level != "restricted":
            yield f"Pod Security is not enforced at restricted, as this namespace requires ({level or 'no label'})"
    elif level not in ("baseline", "restricted"):
        yield f"Pod Security is not enforced at baseline or restricted ({level or 'no label'})"


def _storage_encrypted(subject: Subject, config) -> Iterable[str]:
    provisioner = str(subject.get("provisioner", default=""))
    parameters = mapping(subject.get("parameters"))
    if provisioner in EBS_PROVISIONERS:
        if str(parameters.get("encrypted", "")).lower() != "true":
            yield f'{provisioner} volumes are unencrypted unless parameters.encrypted is "true"'
    elif provisioner in GCE_PD_PROVISIONERS:
        # Persistent disks are always encrypted at rest; a customer-managed key is the stack's choice.
        if config["requireCustomerManagedKey"] and not parameters.get("disk-encryption-kms-key"):
            yield "persistent disks use Google-managed keys: set parameters.disk-encryption-kms-key (CMEK)"
    elif provisioner not in config["encryptedByDefault"]:
        yield f"cannot tell whether {provisioner or '(no provisioner)'} encrypts its volumes at rest"


POLICIES: list[Rule] = [
    resource_rule(
        name="helm-release-pinned",
        area="kubernetes",
        severity=Severity.HIGH,
        types=CHARTS,
        check=_release_pinned,
        config={
            "allowedRepositories": {"type": "array", "items": {"type": "string"}, "default": _DEFAULT_REPOSITORIES}
        },
        description="Helm releases install an exact chart version (no range) from an allowed HTTPS or OCI repository.",
        remediation="Pin the chart in catalog/versions.py, from a repository on the allow-list.",
        controls=(PINNED, "CIS EKS 5.1.4", "CIS GKE 5.1.4"),
    ),
    resource_rule(
        name="kuberay-operator-pinned",
        area="kubernetes",
        severity=Severity.HIGH,
        types=RELEASE,
        check=_kuberay_pinned,
        config={"kuberayVersion": {"type": "string", "default": versions.KUBERAY_VERSION}},
        description="The KubeRay operator runs the platform's pinned version, the one its CRDs come from.",
        remediation="Upgrade through catalog/versions.py, CRDs first (docs/runbooks).",
        controls=(PINNED, "KubeRay upgrade guide: operator and CRDs at one version"),
    ),
    resource_rule(
        name="ray-image-pinned",
        area="ray",
        severity=Severity.HIGH,
        types=RAY_KINDS,
        check=_ray_image,
        config={"rayVersion": {"type": "string", "default": versions.RAY_VERSION}},
        description="Every image of a Ray pod is pinned (an exact tag or a digest), and Ray containers run the "
        "platform's Ray version.",
        remediation=f"Use {versions.RAY_IMAGE} (or -gpu), or an image built from it with the same Ray version.",
        controls=(PINNED, "KubeRay: rayVersion matches the Ray image"),
    ),
    resource_rule(
        name="ray-pod-resources",
        area="ray",
        severity=Severity.MEDIUM,
        types=RAY_KINDS,
        check=_pod_resources,
        description="Every Ray container requests CPU and memory and limits memory.",
        remediation="Set resources.requests.cpu/memory and resources.limits.memory on head and worker containers.",
        controls=("NSA/CISA Kubernetes Hardening Guide: resource policies", "KubeRay config guide: resources"),
    ),
    resource_rule(
        name="ray-gpu-workers-tolerate-taint",
        area="ray",
        severity=Severity.HIGH,
        types=RAY_KINDS,
        check=_gpu_toleration,
        description="Ray groups that request GPUs tolerate the GPU taint, or they never schedule.",
        remediation="Add the toleration {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}.",
        controls=("KubeRay GPU guide: GPU node taints and tolerations",),
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
        controls=(RAY_EXPOSURE, "CVE-2023-48022"),
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
        controls=("OpenCost: cost allocation by namespace labels",),
    ),
    resource_rule(
        name="namespace-pod-security",
        area="kubernetes",
        severity=Severity.HIGH,
        types=NAMESPACE,
        check=_pod_security,
        config={
            "restrictedLabels": {
                "type": "array",
                "items": {"type": "string"},
                "default": [TEAM_LABEL],
                "description": "Namespaces carrying any of these labels (team namespaces) must enforce restricted.",
            },
            "restrictedNamespaces": {
                "type": "array",
                "items": {"type": "string"},
                "default": TEAM_NAMESPACES,
                "description": "Namespace name globs that must enforce restricted.",
            },
        },
        description="Namespaces enforce the baseline Pod Security Standard or stricter, and team namespaces "
        "(and those listed) the restricted one.",
        remediation="Label the namespace pod-security.kubernetes.io/enforce=restricted (baseline only where a "
        "reviewed workload needs it).",
        controls=(*PSS_CONTROLS, "PSS restricted: namespace enforcement"),
    ),
    resource_rule(
        name="storage-class-encrypted",
        area="kubernetes",
        severity=Severity.HIGH,
        types=STORAGE_CLASS,
        check=_storage_encrypted,
        config={
            "encryptedByDefault": {
                "type": "array",
                "items": {"type": "string"},
                "default": ENCRYPTED_BY_DEFAULT,
                "description": "Provisioners whose volumes are encrypted at rest whatever the parameters say.",
            },
            "requireCustomerManagedKey": {
                "type": "boolean",
                "default": False,
                "description": "Require a Cloud KMS key (disk-encryption-kms-key) for GCE persistent disks.",
            },
        },
        description="Every StorageClass provisions volumes encrypted at rest.",
        remediation='Set parameters.encrypted: "true" (and kmsKeyId) for EBS; for GCE PD add '
        "disk-encryption-kms-key where a customer-managed key is required.",
        controls=("AWS FSBP EC2.3", "CIS GKE 5.9.1"),
    ),
]
