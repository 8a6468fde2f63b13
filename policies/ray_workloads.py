"""Ray workloads that leak or waste: secrets written into the spec, a head reachable from outside the
cluster, GPU worker groups without bounds or without autoscaling, and RayJobs that keep their GPUs after
the job under Kueue."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import Any

from pulumi_policy import Severity

from catalog.labels import GPU_RESOURCE
from catalog.ray_ports import RAY_HEAD_PORTS
from policies.objects import mapping, mappings, metadata
from policies.ray_pods import RAY_KINDS, cluster_spec, job_spec, kind, ray_pods
from policies.rules import Rule, Subject, resource_rule, whole

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
SERVICE = ("kubernetes:core/v1:Service",)
SECRET_NAMES = ["*TOKEN*", "*PASSWORD*", "*PASSWD*", "*SECRET*", "*KEY*", "*CREDENTIAL*"]
# Names that point at a secret rather than hold one.
REFERENCE_SUFFIXES = ("_FILE", "_PATH", "_DIR")


def _secret_like(name: str, config) -> bool:
    upper = name.upper()
    if upper.endswith(REFERENCE_SUFFIXES):
        return False
    return any(fnmatch.fnmatchcase(upper, pattern.upper()) for pattern in config["secretNamePatterns"])


def _plain_secrets(subject: Subject, config) -> Iterable[str]:
    for pod in ray_pods(subject):
        for container in pod.containers():
            for variable in mappings(container.get("env")):
                name, value = str(variable.get("name", "")), variable.get("value")
                if value not in (None, "") and _secret_like(name, config):
                    yield f"{pod.where}/{container.get('name', '?')}: {name} holds a literal value"
    redis = mapping(mapping((cluster_spec(subject) or {}).get("gcsFaultToleranceOptions")).get("redisPassword"))
    if redis.get("value") not in (None, ""):
        yield "gcsFaultToleranceOptions.redisPassword holds a literal value"


def _exposed_ray_service(service: Subject) -> str | None:
    """Why a NodePort or LoadBalancer Service reaches a Ray head, or None."""
    spec = mapping(service.get("spec"))
    selector = mapping(spec.get("selector"))
    ports = {whole(p.get(k)) for p in mappings(spec.get("ports")) for k in ("port", "targetPort")} & set(RAY_HEAD_PORTS)
    if spec.get("type") not in ("NodePort", "LoadBalancer"):
        return None
    if selector.get("ray.io/node-type") == "head" or "ray.io/cluster" in selector or ports:
        return (
            f"a {spec.get('type')} Service reaches a Ray head: its GCS, dashboard and client are reachable from outside"
        )
    return None


def _head_service(subject: Subject, _config) -> Iterable[str]:
    if subject.type in SERVICE:
        reason = _exposed_ray_service(subject)
        if reason:
            yield reason
        return
    head = mapping((cluster_spec(subject) or {}).get("headGroupSpec"))
    for where, service_type in (
        ("headGroupSpec.serviceType", head.get("serviceType")),
        ("headGroupSpec.headService", mapping(mapping(head.get("headService")).get("spec")).get("type")),
    ):
        if service_type not in (None, "ClusterIP"):
            yield f"{where} is {service_type}: the dashboard, GCS and client ports are reachable from outside"


def _gpu_groups(subject: Subject) -> list[dict[str, Any]]:
    """The worker groups whose pods request GPUs."""
    groups = []
    for group in mappings((cluster_spec(subject) or {}).get("workerGroupSpecs")):
        spec = mapping(mapping(group.get("template")).get("spec"))
        for container in mappings(spec.get("containers")):
            resources = mapping(container.get("resources"))
            wanted = {**mapping(resources.get("requests")), **mapping(resources.get("limits"))}.get(GPU_RESOURCE)
            if wanted not in (None, 0, "0"):
                groups.append(group)
                break
    return groups


def _gpu_bounds(subject: Subject, config) -> Iterable[str]:
    for group in _gpu_groups(subject):
        name = group.get("groupName", "?")
        low, high, replicas = (whole(group.get(k)) for k in ("minReplicas", "maxReplicas", "replicas"))
        if not isinstance(high, int):
            yield f"GPU worker group {name} has no maxReplicas: KubeRay lets it grow without bound"
            continue
        if high > config["maxReplicas"]:
            yield f"GPU worker group {name} may grow to {high} workers, over the {config['maxReplicas']} allowed"
        for label, value in (("minReplicas", low), ("replicas", replicas)):
            if isinstance(value, int) and value > high:
                yield f"GPU worker group {name}: {label} {value} exceeds maxReplicas {high}"


def _long_lived(subject: Subject) -> bool:
    job = job_spec(subject)
    return job is None or job.get("shutdownAfterJobFinishes") is not True


def _gpu_autoscaled(subject: Subject, _config) -> Iterable[str]:
    cluster = cluster_spec(subject) or {}
    if _gpu_groups(subject) and _long_lived(subject) and cluster.get("enableInTreeAutoscaling") is not True:
        names = ", ".join(str(g.get("groupName", "?")) for g in _gpu_groups(subject))
        yield f"GPU worker groups {names} do not autoscale: idle GPU workers are never released"


def _job_shutdown(subject: Subject, _config) -> Iterable[str]:
    queued = mapping(metadata(subject).get("labels")).get(QUEUE_LABEL)
    job = job_spec(subject)
    creates_cluster = kind(subject) == "RayJob" and job is not None and job.get("rayClusterSpec") is not None
    if queued and creates_cluster and job is not None and job.get("shutdownAfterJobFinishes") is not True:
        yield f"queued on {queued} without shutdownAfterJobFinishes: true: its cluster keeps the quota after the job"


POLICIES: list[Rule] = [
    resource_rule(
        name="ray-no-plain-secrets",
        area="ray",
        severity=Severity.HIGH,
        types=RAY_KINDS,
        check=_plain_secrets,
        config={
            "secretNamePatterns": {
                "type": "array",
                "items": {"type": "string"},
                "default": SECRET_NAMES,
                "description": "Environment variable name globs (case-insensitive) that hold secrets.",
            }
        },
        description="No Ray container or GCS option holds a token, password or key as a literal value.",
        remediation="Read it from a Secret (env[].valueFrom.secretKeyRef, or a mounted file); give the pods "
        "cloud access through the service account's identity instead of keys.",
        controls=("CIS EKS 4.4.1", "CIS EKS 4.4.2", "CIS GKE 4.4.1", "CIS Kubernetes 5.4.1"),
    ),
    resource_rule(
        name="ray-head-service-cluster-ip",
        area="ray",
        severity=Severity.CRITICAL,
        types=(*RAY_KINDS, *SERVICE),
        check=_head_service,
        description="The Ray head service is ClusterIP, and no NodePort or LoadBalancer Service reaches a Ray head.",
        remediation="Set headGroupSpec.serviceType to ClusterIP; reach the dashboard with kubectl port-forward "
        "or through an authenticated Ingress.",
        controls=("Ray security guide: expose no Ray service to untrusted users", "CVE-2023-48022"),
    ),
    resource_rule(
        name="ray-gpu-workers-bounded",
        area="ray",
        severity=Severity.HIGH,
        types=RAY_KINDS,
        check=_gpu_bounds,
        config={"maxReplicas": {"type": "integer", "minimum": 0, "default": 16}},
        description="Every GPU worker group states a maxReplicas within the allowed bound.",
        remediation="Set maxReplicas (and minReplicas, replicas at or below it) on every GPU worker group.",
        controls=("KubeRay autoscaling: minReplicas/maxReplicas bound each worker group",),
    ),
    resource_rule(
        name="ray-gpu-workers-autoscaled",
        area="ray",
        severity=Severity.MEDIUM,
        types=RAY_KINDS,
        check=_gpu_autoscaled,
        description="Long-lived Ray clusters with GPU workers autoscale, so idle GPU workers are released.",
        remediation="Set enableInTreeAutoscaling: true (with autoscalerOptions.idleTimeoutSeconds), or run the "
        "work as a RayJob with shutdownAfterJobFinishes: true.",
        controls=("KubeRay autoscaling: enableInTreeAutoscaling",),
    ),
    resource_rule(
        name="rayjob-shutdown-under-kueue",
        area="ray",
        severity=Severity.HIGH,
        types=RAY_KINDS,
        check=_job_shutdown,
        description="RayJobs queued by Kueue delete their cluster when the job finishes.",
        remediation="Set shutdownAfterJobFinishes: true (and ttlSecondsAfterFinished) on the RayJob.",
        controls=("Kueue RayJob integration: shutdownAfterJobFinishes",),
    ),
]
