"""Build one component alone on the mock engine, from its Args, and read back what it registered."""

from __future__ import annotations

import json
from collections.abc import Callable

import pulumi_kubernetes as k8s

from rayplat.plan import Plan
from rayplat.plan.engine import run_function
from stackconfig.loading import PROJECT


def build_alone(build: Callable[[], object], *, region: str = "us-east-1") -> Plan:
    """Every resource ``build`` registers (the component, its children, and anything ``build`` creates for
    it, such as a provider), as the offline plan records them."""

    def run() -> None:
        build()

    return run_function("unit", {f"{PROJECT}:aws": json.dumps({"region": region})}, run)


def k8s_provider() -> k8s.Provider:
    return k8s.Provider("k8s", kubeconfig="{}")


def children_of(plan: Plan, component_type: str) -> list[str]:
    """The types of the resources whose parent is the one component of ``component_type``."""
    (component,) = plan.of_type(component_type)
    return sorted(r.type for r in plan.resources if r.parent == component.urn)


def count(plan: Plan, type_: str) -> int:
    return len(plan.of_type(type_))
