"""Kubernetes, Ray, Kueue and supply-chain rules: each passes the compliant baseline (a shipped stack plus the
examples of tests/policy_support.py) and fails when one field changes; then what the rules accept and refuse
in detail (authenticating layers, label selectors, images, the pods KubeRay creates), and that no rule
raises on a resource of the wrong shape."""

from __future__ import annotations

import copy

import pytest

from components.kubernetes.raycluster import example_ray_job
from policies import ALL_POLICIES, access, isolation, kueue, pod_security, ray_workloads, supply_chain
from policies.objects import parse_image, selects, unpinned
from policies.ray_pods import ray_pods
from policies.rules import Subject
from rayplat.check.engine import load_policy_config, policy_config_path, resolve_config
from tests.policy_support import _synthetic, baseline, changed, check, outcome
from tests.test_policy_rules import _DELETE, Case, _set, check_case

RAY = "kubernetes:ray.io/v1:RayCluster"
JOB = "kubernetes:ray.io/v1:RayJob"
SERVE = "kubernetes:ray.io/v1:RayService"
NAMESPACE = "kubernetes:core/v1:Namespace"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
QUOTA = "kubernetes:core/v1:ResourceQuota"
CQ = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
LQ = "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue"
BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
RELEASE = "kubernetes:helm.sh/v3:Release"
STORAGE = "kubernetes:storage.k8s.io/v1:StorageClass"

VISION = "dev-platform-team-vision-ray-cluster"
HEAD = "spec.headGroupSpec.template.spec"
WORKER = "spec.workerGroupSpecs.0.template.spec"
SUBMITTER = "spec.submitterPodTemplate.spec"


def _gpu_quota(pool: str, key: str, value):
    """A change to a ClusterQueue's GPU quota on one pool's flavor."""

    def change(resource):
        (gpus,) = [g for g in resource.inputs["spec"]["resourceGroups"] if g["coveredResources"] == ["nvidia.com/gpu"]]
        (flavor,) = [f for f in gpus["flavors"] if f["name"] == pool]
        if value is _DELETE:
            del flavor["resources"][0][key]
        else:
            flavor["resources"][0][key] = value

    return change


def _append_env(name: str, value: str):
    def change(resource):
        resource.inputs["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["env"].append(
            {"name": name, "value": value}
        )

    return change


def _drop_submitter(resource):
    del resource.inputs["spec"]["submitterPodTemplate"]


KUBERNETES_CASES = [
    Case(
        "ray-token-auth", RAY, "team-a", _set("spec.authOptions", _DELETE), "the RayCluster cluster has no authOptions"
    ),
    # Pod Security Standards, on the pods KubeRay creates
    Case(
        "ray-pod-host-process",
        RAY,
        VISION,
        _set(f"{HEAD}.securityContext.windowsOptions", {"hostProcess": True}),
        "head: the pod runs as a Windows HostProcess",
    ),
    Case(
        "ray-pod-host-namespaces",
        RAY,
        VISION,
        _set(f"{WORKER}.hostNetwork", True),
        "worker group a10g: the pod shares the node's namespace (hostNetwork)",
    ),
    Case(
        "ray-pod-privileged",
        RAY,
        VISION,
        _set(f"{WORKER}.containers.0.securityContext.privileged", True),
        "container ray-worker is privileged",
    ),
    Case(
        "ray-pod-capabilities",
        JOB,
        "hello-ray",
        _set(f"{SUBMITTER}.containers.0.securityContext.capabilities.add", ["SYS_ADMIN"]),
        "submitter: container submitter adds SYS_ADMIN (beyond the baseline set too)",
    ),
    Case(
        "ray-pod-volume-types",
        RAY,
        VISION,
        _set(f"{HEAD}.volumes", [{"name": "host", "hostPath": {"path": "/"}}]),
        "volume host is hostPath",
    ),
    Case(
        "ray-pod-host-ports",
        RAY,
        VISION,
        _set(f"{HEAD}.containers.0.ports.1.hostPort", 8265),
        "container ray-head binds host port 8265",
    ),
    Case(
        "ray-pod-probe-host",
        RAY,
        VISION,
        _set(f"{HEAD}.containers.0.livenessProbe", {"httpGet": {"host": "169.254.169.254", "port": 80}}),
        "livenessProbe.httpGet targets host 169.254.169.254",
    ),
    Case(
        "ray-pod-apparmor",
        RAY,
        VISION,
        _set(f"{HEAD}.securityContext.appArmorProfile", {"type": "Unconfined"}),
        "the pod sets the AppArmor profile Unconfined",
    ),
    Case(
        "ray-pod-selinux",
        RAY,
        VISION,
        _set(f"{WORKER}.containers.0.securityContext.seLinuxOptions", {"user": "system_u"}),
        "container ray-worker sets the SELinux user system_u",
    ),
    Case(
        "ray-pod-proc-mount",
        RAY,
        VISION,
        _set(f"{HEAD}.containers.0.securityContext.procMount", "Unmasked"),
        "container ray-head mounts /proc Unmasked",
    ),
    Case(
        "ray-pod-seccomp",
        RAY,
        VISION,
        _set(f"{HEAD}.securityContext.seccompProfile", _DELETE),
        "neither the pod nor container autoscaler sets a seccomp profile",
    ),
    Case(
        "ray-pod-sysctls",
        RAY,
        VISION,
        _set(f"{HEAD}.securityContext.sysctls", [{"name": "kernel.msgmax", "value": "65536"}]),
        "the pod sets the unsafe sysctl kernel.msgmax",
    ),
    # The autoscaler sidecar's settings come from autoscalerOptions alone.
    Case(
        "ray-pod-privilege-escalation",
        RAY,
        VISION,
        _set("spec.autoscalerOptions.securityContext", _DELETE),
        "head: container autoscaler does not set allowPrivilegeEscalation: false",
    ),
    # Without a template, KubeRay's default submitter pod sets no security context at all.
    Case(
        "ray-pod-run-as-non-root",
        JOB,
        "hello-ray",
        _drop_submitter,
        "default submitter: container ray-job-submitter may run as root",
    ),
    Case(
        "ray-pod-run-as-non-root-user",
        RAY,
        VISION,
        _set(f"{WORKER}.securityContext.runAsUser", 0),
        "worker group a10g: the pod runs as user 0 (root)",
    ),
    # Ray workloads
    Case(
        "ray-no-plain-secrets",
        RAY,
        VISION,
        _append_env("HF_TOKEN", "hf_abcdef"),
        "head/ray-head: HF_TOKEN holds a literal value",
    ),
    Case(
        "ray-head-service-cluster-ip",
        RAY,
        VISION,
        _set("spec.headGroupSpec.serviceType", "NodePort"),
        "headGroupSpec.serviceType is NodePort",
    ),
    Case(
        "ray-head-service-cluster-ip",
        "kubernetes:core/v1:Service",
        "ray-head",
        _set("spec.type", "NodePort"),
        "a NodePort Service reaches a Ray head",
    ),
    Case(
        "ray-gpu-workers-bounded",
        RAY,
        VISION,
        _set("spec.workerGroupSpecs.0.maxReplicas", _DELETE),
        "GPU worker group a10g has no maxReplicas",
    ),
    Case(
        "ray-gpu-workers-autoscaled",
        SERVE,
        "serve",
        _set("spec.rayClusterConfig.enableInTreeAutoscaling", False),
        "GPU worker groups a10g do not autoscale",
    ),
    Case(
        "rayjob-shutdown-under-kueue",
        JOB,
        "hello-ray",
        _set("spec.shutdownAfterJobFinishes", False),
        "queued on team-queue without shutdownAfterJobFinishes: true",
    ),
    # Access
    Case(
        "ingress-authenticated",
        INGRESS,
        "ray-dashboard",
        _set(("metadata", "annotations", "nginx.ingress.kubernetes.io/auth-url"), _DELETE),
        "routes to vision-ray-head-svc:8265 with no authenticating layer",
    ),
    Case(
        "ingress-authenticated",
        RELEASE,
        "dev-platform-monitoring",
        _set("values.grafana.ingress.enabled", True),
        "grafana.ingress is enabled with no authenticating layer",
    ),
    Case(
        "ingress-authenticated",
        RELEASE,
        "dev-platform-monitoring",
        _set("values.prometheus.service.type", "LoadBalancer"),
        "prometheus.service.type LoadBalancer puts prometheus on the network with no authenticating layer",
    ),
    Case(
        "rbac-no-cluster-admin",
        CLUSTER_BINDING,
        "oncall-view",
        _set("roleRef.name", "cluster-admin"),
        "grants cluster-admin to ServiceAccount dashboards",
    ),
    Case(
        "rbac-roles-least-privilege",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        "ray-viewer",
        _set("rules.0.verbs", ["get", "escalate", "*"]),
        "rule 0 grants '*' in verbs; rule 0 grants escalate, which lets the holder exceed its own permissions",
    ),
    Case(
        "rbac-no-anonymous",
        BINDING,
        "dev-platform-team-vision-edit",
        _set("subjects.0.name", "system:authenticated"),
        "grants edit to system:authenticated",
    ),
    Case(
        "rbac-team-groups-in-own-namespace",
        BINDING,
        "dev-platform-team-nlp-edit",
        _set("subjects.0.name", "ml-vision"),
        "binds team group ml-vision in namespace team-nlp, outside its own (team-vision)",
    ),
    # Isolation
    Case(
        "network-default-deny",
        NAMESPACE,
        "dev-platform-team-vision",
        _set("spec.ingress", [{}]),
        "team namespace team-vision has no default-deny ingress NetworkPolicy",
        POLICY,
        "dev-platform-team-vision-default-deny-ingress",
    ),
    Case(
        "network-no-allow-from-anywhere",
        POLICY,
        "dev-platform-team-vision-allow-monitoring",
        _set("spec.ingress.0.from.0", {"ipBlock": {"cidr": "0.0.0.0/0"}}),
        "ingress rule 0 admits ipBlock 0.0.0.0/0",
    ),
    # Pods elsewhere choose their own labels: a podSelector does not narrow "every namespace".
    Case(
        "network-no-allow-from-anywhere",
        POLICY,
        "dev-platform-team-vision-allow-same-namespace",
        _set("spec.ingress.0.from.0.namespaceSelector", {}),
        "ingress rule 0 admits pods of every namespace (namespaceSelector {})",
    ),
    Case(
        "network-ray-ports-not-open",
        POLICY,
        "dev-platform-team-vision-allow-kuberay-operator",
        _set("spec.ingress.0.from.0.namespaceSelector", {}),
        "ingress rule 0 opens Ray's 8265 to every namespace",
    ),
    Case(
        "team-resource-quota",
        NAMESPACE,
        "dev-platform-team-vision",
        _set(("spec", "hard", "requests.nvidia.com/gpu"), _DELETE),
        "has GPU quota in Kueue (team-vision) but its ResourceQuota does not cap requests.nvidia.com/gpu",
        QUOTA,
        "dev-platform-team-vision-quota",
    ),
    # Kueue
    Case(
        "kueue-borrowing-bounded",
        CQ,
        "dev-platform-team-vision-cluster-queue",
        _gpu_quota("l4", "borrowingLimit", _DELETE),
        "l4/nvidia.com/gpu has no borrowingLimit",
    ),
    Case(
        "kueue-quota-within-capacity",
        CQ,
        "dev-platform-team-vision-cluster-queue",
        _gpu_quota("a10g", "nominalQuota", 3),
        "a10g: nominal GPU quotas add up to 5 (team-vision: 3), over the 4 GPUs its pools can hold",
    ),
    # On GKE, capacity comes from the node pools' accelerators and autoscaling limits; a quantity may be a string.
    Case(
        "kueue-quota-within-capacity",
        CQ,
        "gcp-dev-platform-team-vision-cluster-queue",
        _gpu_quota("l4", "nominalQuota", "5"),
        "l4: nominal GPU quotas add up to 5",
        stack="gcp-dev",
    ),
    Case(
        "kueue-quota-within-capacity",
        CQ,
        "dev-platform-team-vision-cluster-queue",
        _gpu_quota("a10g", "nominalQuota", "lots"),
        "a10g/nvidia.com/gpu: nominalQuota 'lots' is not a count of GPUs",
    ),
    Case(
        "kueue-queue-own-namespace",
        CQ,
        "dev-platform-team-vision-cluster-queue",
        _set(
            "spec.namespaceSelector",
            {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["team-vision", "team-nlp"]}
                ]
            },
        ),
        "team vision's queue admits workloads from team-nlp",
    ),
    Case(
        "kueue-queue-own-namespace",
        LQ,
        "dev-platform-team-nlp-local-queue",
        _set("spec.clusterQueue", "team-vision"),
        "points team nlp's namespace at team-vision, team vision's ClusterQueue",
    ),
    # Supply chain
    Case(
        "image-repository-allowed",
        RAY,
        VISION,
        _set(f"{HEAD}.containers.0.image", "ghcr.io/someone/ray:2.60.0-py311"),
        "head/ray-head: ghcr.io/someone/ray is not an allowed repository",
    ),
    Case(
        "image-repository-allowed",
        RELEASE,
        "dev-platform-kuberay",
        _set("values.image.repository", "docker.io/someone/kuberay-operator"),
        "image: docker.io/someone/kuberay-operator is not an allowed repository",
    ),
    # A registry alone moves every image of the chart to a mirror, which must be on the list.
    Case(
        "image-repository-allowed",
        RELEASE,
        "dev-platform-monitoring",
        _set("values.grafana.image", {"registry": "mirror.example.com"}),
        "grafana.image: mirror.example.com/ is not an allowed repository",
    ),
    Case(
        "helm-values-images-pinned",
        RELEASE,
        "dev-autoscaler",
        _set("values.image.tag", "latest"),
        "image: tag 'latest' moves",
    ),
    Case(
        "grafana-admin-secret",
        RELEASE,
        "dev-platform-monitoring",
        _set("values.grafana.adminPassword", "prom-operator"),
        "grafana.adminPassword is a literal",
    ),
    Case(
        "storage-class-encrypted",
        STORAGE,
        "dev-gp3",
        _set("parameters.encrypted", "false"),
        'ebs.csi.aws.com volumes are unencrypted unless parameters.encrypted is "true"',
    ),
    # Rules this issue extended
    Case(
        "namespace-pod-security",
        NAMESPACE,
        "dev-platform-team-vision",
        _set(("metadata", "labels", "pod-security.kubernetes.io/enforce"), "baseline"),
        "not enforced at restricted, as this namespace requires (baseline)",
    ),
    Case(
        "helm-release-pinned",
        RELEASE,
        "dev-platform-kuberay",
        _set("version", "^1.7.0"),
        "is not pinned to an exact version (^1.7.0)",
    ),
    Case(
        "helm-release-pinned",
        RELEASE,
        "dev-platform-kuberay",
        _set("repositoryOpts.repo", "http://ray-project.github.io/kuberay-helm/"),
        "is plain HTTP",
    ),
    Case(
        "ray-image-pinned",
        RAY,
        VISION,
        _set(f"{WORKER}.containers.0.image", "rayproject/ray:2.59.0-py311-gpu"),
        "worker group a10g: image rayproject/ray:2.59.0-py311-gpu is not Ray 2.60.0",
    ),
    Case(
        "ray-image-pinned",
        RAY,
        VISION,
        _set("spec.autoscalerOptions.image", "rayproject/ray"),
        "head: image rayproject/ray is not pinned (no tag",
    ),
]


@pytest.mark.parametrize("case", KUBERNETES_CASES, ids=[f"{c.policy}-{i}" for i, c in enumerate(KUBERNETES_CASES)])
def test_rule_passes_baseline_and_fails_on_one_change(case):
    check_case(case)


def test_prod_and_gcp_prod_make_every_new_rule_mandatory():
    names = {p.name for m in (pod_security, ray_workloads, access, isolation, kueue, supply_chain) for p in m.POLICIES}
    for stack in ("prod", "gcp-prod"):
        report = check(baseline(stack))
        levels = {f.policy: f.level for f in report.findings if f.policy in names}
        assert set(levels) <= names and levels and set(levels.values()) == {"mandatory"}, stack


def test_a_team_namespace_that_lost_its_label_is_still_judged_as_one():
    def unlabel(resource):
        labels = resource.inputs["metadata"]["labels"]
        del labels["rayplat.io/team"]
        labels["pod-security.kubernetes.io/enforce"] = "baseline"

    plan = changed(baseline(), NAMESPACE, "dev-platform-team-vision", unlabel)
    plan = changed(plan, QUOTA, "dev-platform-team-vision-quota", lambda r: r.inputs["spec"].update(hard={}))
    report = check(plan)
    for policy in ("namespace-pod-security", "team-resource-quota"):
        assert outcome(report, policy, NAMESPACE, "dev-platform-team-vision").status == "failed", policy
    finding = outcome(report, "kueue-queue-own-namespace", CQ, "dev-platform-team-vision-cluster-queue")
    assert finding.status == "passed"  # the queue still admits its team's namespace, known by its name


@pytest.mark.parametrize("stack", ["dev", "gcp-dev", "local"])
def test_advisory_stacks_still_block_exposing_ray(stack):
    settings = resolve_config(ALL_POLICIES, load_policy_config(policy_config_path(stack)))
    for name in ("ingress-authenticated", "ray-head-service-cluster-ip", "network-ray-ports-not-open"):
        assert settings[name].level.value == "mandatory", name
    admin = {settings[n].level.value for n in ("rbac-no-cluster-admin", "rbac-no-anonymous")}
    assert admin == {"mandatory" if stack != "local" else "advisory"}


# --- What counts as an authenticating layer -----------------------------------------------------------------

SERVICE = "kubernetes:core/v1:Service"
BACKEND_CONFIG = "kubernetes:cloud.google.com/v1:BackendConfig"


def _ingress_finding(annotations=None, extra=()):
    plan = changed(
        baseline(), INGRESS, "ray-dashboard", lambda r: r.inputs["metadata"].update(annotations=annotations or {})
    )
    plan.resources += list(extra)
    return outcome(check(plan), "ingress-authenticated", INGRESS, "ray-dashboard")


def _head_service(annotations):
    return _synthetic(
        SERVICE,
        "vision-head",
        {
            "metadata": {"name": "vision-ray-head-svc", "namespace": "team-vision", "annotations": annotations},
            "spec": {"selector": {"ray.io/node-type": "head"}, "ports": [{"name": "dashboard", "port": 8265}]},
        },
    )


def _backend_config(iap: bool):
    return _synthetic(
        BACKEND_CONFIG,
        "iap",
        {"metadata": {"name": "iap", "namespace": "team-vision"}, "spec": {"iap": {"enabled": iap}}},
    )


IAP_DEFAULT = {"cloud.google.com/backend-config": '{"default": "iap"}'}
IAP_ON_DASHBOARD = {"cloud.google.com/backend-config": '{"ports": {"8265": "iap"}}'}
ALB_OIDC = {
    "alb.ingress.kubernetes.io/auth-type": "oidc",
    "alb.ingress.kubernetes.io/auth-idp-oidc": '{"issuer": "https://idp.example.com", "secretName": "oidc"}',
}


@pytest.mark.parametrize(
    ("annotations", "extra", "status"),
    [
        (ALB_OIDC, (), "passed"),
        ({**ALB_OIDC, "alb.ingress.kubernetes.io/auth-on-unauthenticated-request": "allow"}, (), "failed"),
        ({"alb.ingress.kubernetes.io/auth-type": "cognito"}, (), "failed"),  # no user pool named
        ({"nginx.ingress.kubernetes.io/auth-type": "basic"}, (), "failed"),  # a shared password is no layer
        ({}, (_head_service(IAP_DEFAULT), _backend_config(True)), "passed"),
        ({}, (_head_service(IAP_ON_DASHBOARD), _backend_config(True)), "passed"),
        ({}, (_head_service(IAP_DEFAULT), _backend_config(False)), "failed"),
        ({}, (_head_service({}), _backend_config(True)), "failed"),  # an IAP config no Service uses
    ],
    ids=[
        "alb-oidc",
        "alb-allows-unauthenticated",
        "cognito-without-pool",
        "basic-auth",
        "iap",
        "iap-by-port",
        "iap-off",
        "iap-unused",
    ],
)
def test_what_counts_as_an_authenticating_layer(annotations, extra, status):
    assert _ingress_finding(annotations, extra).status == status


def test_a_route_to_any_service_selecting_the_ray_head_is_sensitive():
    plan = changed(baseline(), INGRESS, "ray-dashboard", lambda r: r.inputs["metadata"].update(annotations={}))
    ingress = next(r for r in plan.resources if r.name == "ray-dashboard")
    ingress.inputs["spec"]["rules"][0]["http"]["paths"][0]["backend"] = {
        "service": {"name": "jobs", "port": {"name": "http"}}
    }
    assert outcome(check(plan), "ingress-authenticated", INGRESS, "ray-dashboard").status == "passed"
    service = _head_service({})
    service.inputs["metadata"]["name"] = "jobs"
    plan.resources.append(service)
    finding = outcome(check(plan), "ingress-authenticated", INGRESS, "ray-dashboard")
    assert finding.status == "failed" and "jobs:http" in finding.message


def test_gateway_routes_need_iap_through_a_backend_policy():
    route = _synthetic(
        "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
        "dashboard-route",
        {
            "metadata": {"name": "dashboard", "namespace": "team-vision"},
            "spec": {"rules": [{"backendRefs": [{"name": "vision-ray-head-svc", "port": 8265}]}]},
        },
    )
    policy = _synthetic(
        "kubernetes:networking.gke.io/v1:GCPBackendPolicy",
        "iap",
        {
            "metadata": {"name": "iap", "namespace": "team-vision"},
            "spec": {
                "targetRef": {"kind": "Service", "name": "vision-ray-head-svc"},
                "default": {"iap": {"enabled": True}},
            },
        },
    )
    plan = baseline()
    plan.resources.append(route)
    assert outcome(check(plan), "ingress-authenticated", route.type, "dashboard-route").status == "failed"
    plan.resources.append(policy)
    assert outcome(check(plan), "ingress-authenticated", route.type, "dashboard-route").status == "passed"


# --- Helpers ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ({}, True),
        ({"matchLabels": {"team": "vision"}}, True),
        ({"matchLabels": {"team": "nlp"}}, False),
        ({"matchExpressions": [{"key": "team", "operator": "In", "values": ["nlp", "vision"]}]}, True),
        ({"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["vision"]}]}, False),
        ({"matchExpressions": [{"key": "gpu", "operator": "DoesNotExist"}]}, True),
        ({"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "team", "operator": "Near"}]}, False),
        ("team=vision", False),
    ],
)
def test_label_selectors(selector, matches):
    assert selects(selector, {"team": "vision", "kubernetes.io/metadata.name": "team-vision"}) is matches


@pytest.mark.parametrize(
    ("reference", "repository", "pinned"),
    [
        ("rayproject/ray:2.60.0-py311", "docker.io/rayproject/ray", True),
        ("busybox", "docker.io/library/busybox", False),
        ("quay.io/kuberay/operator:v1.7.0", "quay.io/kuberay/operator", True),
        ("localhost:5000/ray:latest", "localhost:5000/ray", False),
        ("registry.k8s.io/kueue/kueue:v0.19", "registry.k8s.io/kueue/kueue", False),
        ("minio/minio:RELEASE.2024-12-18T13-15-44Z", "docker.io/minio/minio", True),
        (f"rayproject/ray@sha256:{'a' * 64}", "docker.io/rayproject/ray", True),
        ("rayproject/ray@sha256:abc", "docker.io/rayproject/ray", False),
    ],
)
def test_image_references(reference, repository, pinned):
    image = parse_image(reference)
    assert image.repository == repository
    assert (unpinned(image) is None) is pinned


def _ray(kind: str, spec: dict) -> Subject:
    return Subject(f"kubernetes:ray.io/v1:{kind}", "x", "urn", {"spec": spec}, False, {})


def test_the_pods_kuberay_creates():
    cluster = example_ray_job("team-vision", "team-queue", "s3://bucket")["spec"]["rayClusterSpec"]
    sidecar = ray_pods(_ray("RayJob", {"rayClusterSpec": cluster, "submissionMode": "SidecarMode"}))
    assert [p.where for p in sidecar] == ["head", "worker group cpu"]
    assert [c["name"] for c in sidecar[0].containers()] == ["ray-head", "ray-job-submitter"]
    http = ray_pods(_ray("RayJob", {"rayClusterSpec": cluster, "submissionMode": "HTTPMode"}))
    assert [p.where for p in http] == ["head", "worker group cpu"]
    autoscaled = copy.deepcopy(cluster) | {"enableInTreeAutoscaling": True}
    (head, _, submitter) = ray_pods(_ray("RayJob", {"rayClusterSpec": autoscaled}))
    assert [c["name"] for c in head.containers()] == ["ray-head", "autoscaler"]
    assert head.containers()[1]["image"] == cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["image"]
    assert submitter.where == "default submitter"
    assert ray_pods(_ray("RayJob", {"clusterSelector": {"ray.io/cluster": "shared"}})) == []
    service = ray_pods(_ray("RayService", {"rayClusterConfig": cluster}))
    assert [p.where for p in service] == ["head", "worker group cpu"]


# --- Wrong shapes -------------------------------------------------------------------------------------------

NEW_MODULES = (pod_security, ray_workloads, access, isolation, kueue, supply_chain)
GARBAGE = [
    {},
    {"spec": "oops", "metadata": 5},
    {"spec": {"headGroupSpec": None, "rayClusterConfig": [], "jobTemplate": "j"}, "values": None},
    {
        "metadata": {"labels": "x", "annotations": ["y"], "name": 3},
        "spec": {
            "headGroupSpec": {"template": {"spec": {"containers": "c", "securityContext": [], "volumes": {}}}},
            "workerGroupSpecs": [{"template": "t", "maxReplicas": "many"}, 5],
            "rayClusterSpec": {"headGroupSpec": 1},
            "ingress": [{"from": "x", "ports": 7}],
            "podSelector": "all",
            "namespaceSelector": [],
            "resourceGroups": [{"flavors": [{"resources": [{"name": "nvidia.com/gpu", "nominalQuota": "lots"}]}]}],
            "rules": "r",
            "hard": 3,
        },
        "subjects": "everyone",
        "roleRef": 4,
        "values": {"image": 5, "grafana": {"admin": "x", "ingress": []}},
        "parameters": "p",
    },
]


@pytest.mark.parametrize("inputs", GARBAGE, ids=range(len(GARBAGE)))
def test_no_rule_raises_on_a_resource_of_the_wrong_shape(inputs):
    types = {t for m in NEW_MODULES for p in m.POLICIES for t in p.types if not t.endswith("*")}
    plan = baseline()
    plan.resources += [_synthetic(t, f"garbage-{i}", copy.deepcopy(inputs)) for i, t in enumerate(sorted(types))]
    report = check(plan)  # raises if any rule does
    judged = {f.policy for f in report.findings if f.resource_name.startswith("garbage-")}
    assert judged >= {p.name for m in NEW_MODULES for p in m.POLICIES}
    assert {p.name for p in ALL_POLICIES} >= judged


def test_a_ray_pod_of_the_wrong_shape_is_reported_not_passed():
    broken = {"spec": {"headGroupSpec": {"template": {"spec": {"containers": "ray-head", "securityContext": []}}}}}
    plan = baseline()
    plan.resources.append(_synthetic(RAY, "broken", broken))
    report = check(plan)
    for control in pod_security.CONTROLS:
        finding = outcome(report, f"ray-pod-{control.name}", RAY, "broken")
        assert finding.status == "failed" and "head: containers is not a list of objects" in finding.message
