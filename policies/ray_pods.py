"""The pods a Ray custom resource makes KubeRay create, with the containers KubeRay injects (KubeRay 1.7).

- The head pod gets the autoscaler sidecar when in-tree autoscaling is on: its image is the Ray container's
  unless ``autoscalerOptions.image`` says otherwise, and its security context is ``autoscalerOptions.securityContext``
  (nothing else). A RayJob in ``SidecarMode`` adds its submitter to the head pod, with no security context.
- A RayJob in the default ``K8sJobMode`` runs a submitter pod: ``submitterPodTemplate``, or a default pod that
  sets no security context at all.
- Worker pods get the ``wait-gcs-ready`` init container, a copy of the Ray container's image and security
  context: judging the Ray container judges it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies.objects import mapping, mappings
from policies.rules import Subject, as_list, dig

RAY_KINDS = (
    "kubernetes:ray.io/v1:RayCluster",
    "kubernetes:ray.io/v1:RayJob",
    "kubernetes:ray.io/v1:RayService",
    "kubernetes:ray.io/v1:RayCronJob",
)
SUBMITTER = "ray-job-submitter"


@dataclass(frozen=True)
class Pod:
    """A pod as KubeRay would create it: where it comes from, its spec and its template's annotations."""

    where: str
    spec: dict[str, Any]
    annotations: dict[str, Any] = field(default_factory=dict)

    def containers(self) -> list[dict[str, Any]]:
        return [*mappings(self.spec.get("initContainers")), *mappings(self.spec.get("containers"))]

    def shape_problems(self) -> list[str]:
        """What of the pod cannot be judged because it has the wrong shape."""
        problems = [] if mappings(self.spec.get("containers")) else ["the pod names no containers"]
        for key in ("containers", "initContainers", "volumes"):
            raw = self.spec.get(key)
            if len(as_list(raw)) != len(mappings(raw)) or isinstance(raw, dict):
                problems.append(f"{key} is not a list of objects")
        contexts = [("the pod", self.spec)] + [(f"container {c.get('name', '?')}", c) for c in self.containers()]
        for who, holder in contexts:
            if holder.get("securityContext") is not None and not isinstance(holder["securityContext"], dict):
                problems.append(f"{who}: securityContext is not an object")
        return problems


def kind(subject: Subject) -> str:
    return subject.type.rsplit(":", 1)[-1]


def job_spec(subject: Subject) -> dict[str, Any] | None:
    """The RayJob spec of a RayJob (or of a RayCronJob's job template); None for other kinds."""
    spec = mapping(subject.get("spec"))
    return {"RayJob": spec, "RayCronJob": mapping(spec.get("jobTemplate"))}.get(kind(subject))


def cluster_spec(subject: Subject) -> dict[str, Any] | None:
    """The RayCluster spec inside any Ray custom resource (None for a RayJob that selects an existing cluster)."""
    spec = mapping(subject.get("spec"))
    job = job_spec(subject)
    found = {"RayCluster": spec, "RayService": spec.get("rayClusterConfig")}.get(
        kind(subject), job.get("rayClusterSpec") if job is not None else None
    )
    return mapping(found) or None


def _template(group: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    template = mapping(mapping(group).get("template"))
    return mapping(template.get("spec")), mapping(mapping(template.get("metadata")).get("annotations"))


def _ray_image(pod: dict[str, Any]) -> Any:
    return dig(mappings(pod.get("containers")), 0, "image")


def template_pods(subject: Subject) -> list[Pod]:
    """The head and worker pod templates as written, nothing injected."""
    cluster = cluster_spec(subject)
    if cluster is None:
        return []
    pods = [Pod("head", *_template(cluster.get("headGroupSpec")))]
    for group in mappings(cluster.get("workerGroupSpecs")):
        pods.append(Pod(f"worker group {group.get('groupName', '?')}", *_template(group)))
    return pods


def ray_pods(subject: Subject) -> list[Pod]:
    """Every pod KubeRay creates for the resource, with the containers it injects."""
    pods = template_pods(subject)
    cluster, job = cluster_spec(subject) or {}, job_spec(subject)
    head = pods[0].spec if pods else {}
    extra = []
    if pods and cluster.get("enableInTreeAutoscaling") is True:
        options = mapping(cluster.get("autoscalerOptions"))
        autoscaler = {"name": "autoscaler", "image": options.get("image") or _ray_image(head)}
        autoscaler.update({k: options[k] for k in ("securityContext", "env") if k in options})
        extra.append(autoscaler)
    mode = job.get("submissionMode", "K8sJobMode") if job is not None else None
    if mode == "SidecarMode":
        extra.append({"name": SUBMITTER, "image": _ray_image(head)})
    elif mode == "K8sJobMode" and job is not None:
        if "submitterPodTemplate" in job:
            pods.append(Pod("submitter", *_template({"template": job["submitterPodTemplate"]})))
        elif pods:
            default = {"containers": [{"name": SUBMITTER, "image": _ray_image(head)}], "restartPolicy": "Never"}
            pods.append(Pod("default submitter", default))
    if pods and extra:
        head["containers"] = [*mappings(head.get("containers")), *extra]
    return pods
