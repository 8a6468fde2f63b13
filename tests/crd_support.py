"""The pinned KubeRay CRDs as validators, each read once: the files are large and a schema is checked once."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from jsonschema.validators import validator_for

KUBERAY_CRDS = {
    "RayCluster": "ray.io_rayclusters.yaml",
    "RayJob": "ray.io_rayjobs.yaml",
    "RayService": "ray.io_rayservices.yaml",
    "RayCronJob": "ray.io_raycronjobs.yaml",
}


@functools.cache
def _validator(upstream_dir: Path, kind: str, version: str) -> Any:
    crd = yaml.load((upstream_dir / "kuberay" / "crd" / KUBERAY_CRDS[kind]).read_text(), Loader=yaml.CSafeLoader)
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version and v.get("served", True)]
    schema = served["schema"]["openAPIV3Schema"]
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_kuberay(upstream_dir: Path, manifest: dict[str, Any]) -> None:
    """Raise jsonschema's ValidationError unless the manifest is valid for its kind in the pinned CRD."""
    group, version = manifest["apiVersion"].split("/")
    assert group == "ray.io", manifest["apiVersion"]
    _validator(upstream_dir, manifest["kind"], version).validate(manifest)
