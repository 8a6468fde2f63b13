"""Kubernetes objects as the plan shows them: metadata, team namespaces, label selectors, container images.

Every helper takes whatever the plan holds: a field of the wrong shape reads as absent, never raises.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from catalog.labels import TEAM_GROUP_ANNOTATION, TEAM_LABEL, TEAM_NAMESPACE_PREFIX
from policies.rules import Subject, as_list, of_type, plain

NAMESPACE = ("kubernetes:core/v1:Namespace",)
# The label Kubernetes puts on every namespace (1.22+), which namespace selectors may name.
NAME_LABEL = "kubernetes.io/metadata.name"
# How the rules tell team namespaces (and team queues): by label, and by name should the label be lost.
TEAM_NAMESPACES = [f"{TEAM_NAMESPACE_PREFIX}*"]
TEAM_CONFIG = {
    "teamLabel": {
        "type": "string",
        "default": TEAM_LABEL,
        "description": "The label that marks a team's namespace and ClusterQueue (its value is the team).",
    },
    "teamNamespaces": {
        "type": "array",
        "items": {"type": "string"},
        "default": TEAM_NAMESPACES,
        "description": "Namespace name globs that are team namespaces, labelled or not.",
    },
}


def mapping(value: Any) -> dict[str, Any]:
    """A mapping as a dict; anything else as an empty one."""
    return plain(value) if isinstance(value, Mapping) else {}


def mappings(value: Any) -> list[dict[str, Any]]:
    """The mappings of a list (a lone mapping as a list of one); other items are dropped."""
    return [v for v in as_list(value) if isinstance(v, dict)]


def strings(value: Any) -> list[str]:
    return [v for v in as_list(value) if isinstance(v, str)]


def metadata(subject: Subject) -> dict[str, Any]:
    return mapping(subject.get("metadata"))


def object_name(subject: Subject) -> str:
    name = metadata(subject).get("name")
    return name if isinstance(name, str) else ""


def object_namespace(subject: Subject) -> str:
    namespace = metadata(subject).get("namespace")
    return namespace if isinstance(namespace, str) and namespace else "default"


def namespace_labels(namespace: Subject) -> dict[str, str]:
    """A namespace's labels, with the name label Kubernetes adds."""
    return {**mapping(metadata(namespace).get("labels")), NAME_LABEL: object_name(namespace)}


@dataclass(frozen=True)
class TeamNamespace:
    subject: Subject
    name: str
    team: str
    group: str | None
    labels: dict[str, str]


def team_namespaces(subjects: Iterable[Subject], config: Mapping[str, Any]) -> list[TeamNamespace]:
    """The namespaces labelled as a team's or named as one (``TEAM_CONFIG``), with the team's group
    (annotation) when they name one. An unlabelled one is known by its name (team-<team>)."""
    found = []
    for namespace in of_type(subjects, NAMESPACE):
        labels, name = namespace_labels(namespace), object_name(namespace)
        team = labels.get(config["teamLabel"])
        named = any(fnmatch.fnmatchcase(name, pattern) for pattern in config["teamNamespaces"])
        if (isinstance(team, str) and team) or named:
            group = mapping(metadata(namespace).get("annotations")).get(TEAM_GROUP_ANNOTATION)
            group = group if isinstance(group, str) else None
            team = team if isinstance(team, str) and team else name.removeprefix(TEAM_NAMESPACE_PREFIX)
            found.append(TeamNamespace(namespace, name, team, group, labels))
    return found


def selects(selector: Any, labels: Mapping[str, str]) -> bool:
    """Whether a label selector matches ``labels``: ``{}`` matches everything; a malformed term matches nothing."""
    if not isinstance(selector, Mapping):
        return False
    selector = plain(selector)
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, dict) or any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    return all(_expression(e, labels) for e in as_list(selector.get("matchExpressions")))


def _expression(expression: Any, labels: Mapping[str, str]) -> bool:
    if not isinstance(expression, dict):
        return False
    key, operator, values = str(expression.get("key")), expression.get("operator"), strings(expression.get("values"))
    value = labels.get(key)
    return {
        "In": value is not None and value in values,
        "NotIn": value is None or value not in values,
        "Exists": value is not None,
        "DoesNotExist": value is None,
    }.get(str(operator), False)


@dataclass(frozen=True)
class Image:
    """A container image reference, its repository with the registry spelled out (docker.io/library/...)."""

    reference: str
    repository: str
    tag: str
    digest: str


_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# An exact release: a full x.y.z version, or a dated build (MinIO's RELEASE.2024-12-18T13-15-44Z).
_EXACT_TAG = re.compile(r"\d+\.\d+\.\d+|\d{4}-\d{2}-\d{2}")
_MOVING_TAGS = {"latest", "stable", "edge", "main", "master", "nightly", "dev", "head"}


def parse_image(reference: str) -> Image:
    name, _, digest = reference.partition("@")
    slash = name.rfind("/")
    tag = name[name.rfind(":") + 1 :] if ":" in name[slash + 1 :] else ""
    path = name[: len(name) - len(tag) - 1] if tag else name
    first, _, rest = path.partition("/")
    if not rest:
        path = f"docker.io/library/{path}"
    elif "." not in first and ":" not in first and first != "localhost":
        path = f"docker.io/{path}"
    return Image(reference, path, tag, digest)


def unpinned(image: Image) -> str | None:
    """Why an image is not pinned to one build, or None when it is (a digest, or an exact release tag)."""
    if image.digest:
        return None if _DIGEST.match(image.digest) else f"digest '{image.digest}' is not a sha256 digest"
    if not image.tag:
        return "no tag (Kubernetes pulls 'latest')"
    if image.tag.lower() in _MOVING_TAGS or not _EXACT_TAG.search(image.tag):
        return f"tag '{image.tag}' moves: pin an exact release or a digest"
    return None


def repository_allowed(repository: str, allowed: Iterable[str]) -> bool:
    """Whether a repository (registry spelled out) matches an allow-list entry (a glob, also spelled out)."""
    return any(fnmatch.fnmatchcase(repository, parse_image(entry).repository) for entry in allowed)
