"""The supply chain: every image the platform names comes from an allowed repository and is pinned to one
build; Grafana's admin password comes from a Secret, never from chart values.

Images are read from Ray pods (what KubeRay runs, injected containers included) and from Helm values:
a mapping under an ``image`` key (``repository``/``registry``/``tag``/``digest``, as most charts spell it) or
an image reference string under an ``image`` key. A value left to the chart's default is as pinned and as
trusted as the chart itself, which helm-release-pinned judges.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pulumi_policy import Severity

from catalog import versions
from policies.objects import Image, mapping, parse_image, repository_allowed, unpinned
from policies.ray_pods import RAY_KINDS, ray_pods
from policies.rules import Rule, Subject, resource_rule

RELEASE = ("kubernetes:helm.sh/v3:Release",)
# The repositories of the images pinned in catalog/versions.py.
DEFAULT_REPOSITORIES = sorted(
    {
        parse_image(value).repository
        for value in vars(versions).values()
        if isinstance(value, str) and "/" in value and ":" in value and "://" not in value
    }
)
# Where a chart keeps Grafana's values: kube-prometheus-stack in its subchart, the grafana chart at the top.
GRAFANA_VALUES = {"kube-prometheus-stack": ("grafana",), "grafana": ()}


def _chart(release: Subject) -> str:
    return str(release.get("chart", default="")).rsplit("/", 1)[-1]


def values_images(value: Any, path: str = "", under_image: bool = False) -> Iterable[tuple[str, Image, bool]]:
    """(values path, image, whether the value names the whole image) of every image a release's values set.
    A mapping may set only some parts; the chart fills in the rest (its tag: the chart's appVersion)."""
    if isinstance(value, dict):
        if under_image and any(k in value for k in ("registry", "repository", "tag", "digest")):
            yield path, _image_values(value), False
            return
        for key, item in value.items():
            inside = under_image or "image" in str(key).lower()
            yield from values_images(item, f"{path}.{key}" if path else str(key), inside)
    elif isinstance(value, str) and path.rsplit(".", 1)[-1].lower() == "image" and value:
        yield path, parse_image(value), True


def _image_values(value: dict[str, Any]) -> Image:
    """An image from its parts; a registry alone (a mirror of the chart's images) reads as '<registry>/'."""
    registry, repository = str(value.get("registry") or ""), str(value.get("repository") or "")
    full = "/".join(p for p in (registry, repository) if p)
    name = parse_image(full).repository if repository else (f"{registry}/" if registry else "")
    return Image(full, name, str(value.get("tag") or ""), str(value.get("digest") or ""))


def _ray_images(subject: Subject) -> Iterable[tuple[str, Image]]:
    for pod in ray_pods(subject):
        for container in pod.containers():
            image = container.get("image")
            if isinstance(image, str) and image:
                yield f"{pod.where}/{container.get('name', '?')}", parse_image(image)


def _images_allowed(subject: Subject, config) -> Iterable[str]:
    if subject.type in RELEASE:
        images = [(p, i) for p, i, _ in values_images(mapping(subject.get("values"))) if i.repository]
    else:
        images = list(_ray_images(subject))
    for where, image in images:
        if not repository_allowed(
            _upstream(image.repository, config["dockerHubMirrors"]), config["allowedRepositories"]
        ):
            yield f"{where}: {image.repository} is not an allowed repository"


def _upstream(repository: str, mirrors: list[str]) -> str:
    """The Docker Hub repository a pull-through mirror serves (a repository under one of ``mirrors``)."""
    for mirror in mirrors:
        if repository.startswith(f"{mirror.rstrip('/')}/"):
            return parse_image(repository[len(mirror.rstrip("/")) + 1 :]).repository
    return repository


def _values_pinned(subject: Subject, _config) -> Iterable[str]:
    for where, image, whole_reference in values_images(mapping(subject.get("values"))):
        reason = unpinned(image) if whole_reference or image.tag or image.digest else None
        if reason:
            yield f"{where}: {reason}"


def _grafana_admin(subject: Subject, _config) -> Iterable[str]:
    chart = _chart(subject)
    if chart not in GRAFANA_VALUES:
        return
    grafana = mapping(subject.get("values"))
    for key in GRAFANA_VALUES[chart]:
        grafana = mapping(grafana.get(key))
    if grafana.get("enabled") is False:
        return
    prefix = "".join(f"{k}." for k in GRAFANA_VALUES[chart])
    if grafana.get("adminPassword") not in (None, ""):
        yield f"{prefix}adminPassword is a literal in the release's values (and its state)"
    if not mapping(grafana.get("admin")).get("existingSecret"):
        yield f"{prefix}admin.existingSecret is not set: the admin password does not come from a Secret"


POLICIES: list[Rule] = [
    resource_rule(
        name="image-repository-allowed",
        area="kubernetes",
        severity=Severity.HIGH,
        types=(*RAY_KINDS, *RELEASE),
        check=_images_allowed,
        config={
            "allowedRepositories": {
                "type": "array",
                "items": {"type": "string"},
                "default": DEFAULT_REPOSITORIES,
                "description": "Image repositories (globs, registry included) that Ray pods and chart values may name.",
            },
            "dockerHubMirrors": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "The stack's pull-through caches of Docker Hub (registry/path): an image under one "
                "is judged as the Docker Hub repository it mirrors.",
            },
        },
        description="Every image of a Ray pod, and every image a chart's values name, comes from an allowed "
        "repository.",
        remediation="Use the pinned images of catalog/versions.py, or mirror the image into a repository "
        "on the stack's allow-list (allowedRepositories).",
        controls=("CIS EKS 5.1.4", "CIS GKE 5.1.4"),
    ),
    resource_rule(
        name="helm-values-images-pinned",
        area="kubernetes",
        severity=Severity.HIGH,
        types=RELEASE,
        check=_values_pinned,
        description="Every image tag a chart's values set is an exact release or a digest, never 'latest'.",
        remediation="Pin the tag in catalog/versions.py (an x.y.z release, or @sha256 digest).",
        controls=("OpenSSF Scorecard: Pinned-Dependencies", "CIS EKS 5.1.4", "CIS GKE 5.1.4"),
    ),
    resource_rule(
        name="grafana-admin-secret",
        area="kubernetes",
        severity=Severity.HIGH,
        types=RELEASE,
        check=_grafana_admin,
        description="Grafana's admin password comes from an existing Secret, never a literal in chart values.",
        remediation="Generate the password (random.RandomPassword) into a Secret and set "
        "grafana.admin.existingSecret to it.",
        controls=("CIS EKS 4.4.2", "CIS GKE 4.4.2", "CIS Kubernetes 5.4.2"),
    ),
]
