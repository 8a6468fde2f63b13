"""Build plans for policy tests: a compliant baseline (a shipped stack plus compliant examples of what the
stacks do not create yet), and copies of it with one field changed."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from components.kubernetes.raycluster import container_security_context, example_ray_job, pod_security_context
from rayplat.check.engine import CheckReport, Finding, check_plan, load_policy_config, policy_config_path
from rayplat.plan import Plan, PlannedResource
from tests.conftest import planned

COST = {
    "team": "ml-platform",
    "env": "dev",
    "owner": "platform-team",
    "department": "engineering",
    "app": "ray-platform",
}


def _synthetic(type_: str, name: str, inputs: dict[str, Any], stack: str = "dev") -> PlannedResource:
    return PlannedResource(
        urn=f"urn:pulumi:{stack}::ray-platform::{type_}::{name}",
        type=type_,
        name=name,
        custom=True,
        parent=f"urn:pulumi:{stack}::ray-platform::pulumi:pulumi:Stack::ray-platform-{stack}",
        provider="",
        dependencies=[],
        inputs=inputs,
        protect=False,
        retainOnDelete=False,
    )


def _container(name: str, image: str, gpus: int = 0) -> dict[str, Any]:
    limits = {"cpu": "4", "memory": "16Gi", **({"nvidia.com/gpu": gpus} if gpus else {})}
    return {
        "name": name,
        "image": image,
        "securityContext": container_security_context(),
        "resources": {"requests": {"cpu": "2", "memory": "16Gi"}, "limits": limits},
    }


def ray_cluster() -> dict[str, Any]:
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": "team-a", "namespace": "team-a"},
        "spec": {
            "authOptions": {"mode": "token"},
            "enableInTreeAutoscaling": True,
            "autoscalerOptions": {"securityContext": container_security_context()},
            "headGroupSpec": {
                "serviceType": "ClusterIP",
                "rayStartParams": {},
                "template": {
                    "spec": {
                        "securityContext": pod_security_context(),
                        "containers": [_container("ray-head", "rayproject/ray:2.60.0-py311")],
                    }
                },
            },
            "workerGroupSpecs": [
                {
                    "groupName": "a10g",
                    "replicas": 0,
                    "minReplicas": 0,
                    "maxReplicas": 4,
                    "rayStartParams": {},
                    "template": {
                        "spec": {
                            "securityContext": pod_security_context(),
                            "containers": [_container("ray-worker", "rayproject/ray:2.60.0-py311-gpu", gpus=1)],
                            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                        }
                    },
                }
            ],
        },
    }


def examples() -> list[PlannedResource]:
    """Compliant resources of kinds the shipped stacks do not create (yet)."""
    return [
        _synthetic(
            "aws:ec2/securityGroup:SecurityGroup",
            "ray-head",
            {
                "vpcId": "vpc-0abc1234",
                "tags": COST,
                "ingress": [{"protocol": "tcp", "fromPort": 6379, "toPort": 6379, "cidrBlocks": ["10.40.0.0/16"]}],
            },
        ),
        _synthetic(
            "kubernetes:core/v1:Service",
            "ray-head",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "ray-head", "namespace": "team-a"},
                "spec": {"type": "ClusterIP", "selector": {"ray.io/node-type": "head"}, "ports": [{"port": 8265}]},
            },
        ),
        _synthetic("kubernetes:ray.io/v1:RayCluster", "team-a", ray_cluster()),
        _synthetic(
            "gcp:storage/bucket:Bucket",
            "gcs-artifacts",
            {"name": "gcs-artifacts", "location": "US", "labels": dict(COST)},
        ),
        *kubernetes_examples(),
    ]


def kubernetes_examples() -> list[PlannedResource]:
    """A dashboard Ingress behind oauth2-proxy, a queued RayJob, a RayService, a read-only ClusterRole and
    ClusterRoleBinding."""
    dashboard = {"service": {"name": "vision-ray-head-svc", "port": {"number": 8265}}}
    auth = {"nginx.ingress.kubernetes.io/auth-url": "https://oauth2.example.com/oauth2/auth"}
    # A service account, not a group: the cloud rules read every group a binding names.
    reader = {"kind": "ServiceAccount", "name": "dashboards", "namespace": "monitoring"}
    return [
        _synthetic(
            "kubernetes:networking.k8s.io/v1:Ingress",
            "ray-dashboard",
            {
                "metadata": {"name": "ray-dashboard", "namespace": "team-vision", "annotations": auth},
                "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": dashboard}]}}]},
            },
        ),
        _synthetic(
            "kubernetes:ray.io/v1:RayJob",
            "hello-ray",
            example_ray_job("team-vision", "team-queue", "s3://dev-artifacts/teams/vision"),
        ),
        _synthetic(
            "kubernetes:ray.io/v1:RayService",
            "serve",
            {
                "metadata": {"name": "serve", "namespace": "team-vision"},
                "spec": {"rayClusterConfig": ray_cluster()["spec"]},
            },
        ),
        _synthetic(
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
            "oncall-view",
            {
                "metadata": {"name": "oncall-view"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [reader],
            },
        ),
        _synthetic(
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
            "ray-viewer",
            {
                "metadata": {"name": "ray-viewer"},
                "rules": [{"apiGroups": ["ray.io"], "resources": ["rayclusters"], "verbs": ["get", "list", "watch"]}],
            },
        ),
    ]


def baseline(stack: str = "dev") -> Plan:
    plan = copy.deepcopy(planned(stack))
    plan.resources += examples()
    return plan


def changed(plan: Plan, type_: str, name: str, change: Callable[[PlannedResource], Any]) -> Plan:
    """A copy of ``plan`` with ``change`` applied to one resource (it edits the resource in place)."""
    plan = copy.deepcopy(plan)
    change(find(plan, type_, name))
    return plan


def find(plan: Plan, type_: str, name: str) -> PlannedResource:
    (match,) = [r for r in plan.resources if r.type == type_ and r.name == name]
    return match


def check(plan: Plan, config: dict[str, Any] | None = None) -> CheckReport:
    return check_plan(plan, config if config is not None else load_policy_config(policy_config_path(plan.stack)))


def outcome(report: CheckReport, policy: str, type_: str, name: str) -> Finding:
    (match,) = [
        f for f in report.findings if f.policy == policy and f.resource_type == type_ and f.resource_name == name
    ]
    return match


def edit_document(key: str, edit: Callable[[dict[str, Any]], None]) -> Callable[[PlannedResource], None]:
    """A change to a JSON policy document held in ``inputs[key]``."""

    def change(resource: PlannedResource) -> None:
        document = json.loads(resource.inputs[key])
        edit(document)
        resource.inputs[key] = json.dumps(document)

    return change
