"""The cached CRD validators still refuse what the upstream schemas refuse."""

from __future__ import annotations

import jsonschema
import pytest

from tests.crds import crd_validator, validate

RAYCLUSTER = "kuberay/crd/ray.io_rayclusters.yaml"


def test_a_cached_validator_refuses_a_wrong_type_every_time(upstream_dir):
    validator = crd_validator(upstream_dir / RAYCLUSTER, "v1")
    assert crd_validator(upstream_dir / RAYCLUSTER, "v1") is validator
    wrong = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "spec": {"headGroupSpec": {"rayStartParams": []}}}
    for _ in range(2):
        with pytest.raises(jsonschema.ValidationError, match="rayStartParams"):
            validate(wrong, validator)


def test_only_the_strict_validator_refuses_an_unknown_field(upstream_dir):
    spec = {"headGroupSpec": {"template": {}}, "suspendd": True}
    unknown = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "spec": spec}
    validate(unknown, crd_validator(upstream_dir / RAYCLUSTER, "v1"))
    with pytest.raises(jsonschema.ValidationError, match="suspendd"):
        validate(unknown, crd_validator(upstream_dir / RAYCLUSTER, "v1", unknown_fields=False))
