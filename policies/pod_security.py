"""Every control of the Pod Security Standards 'restricted' profile (which includes 'baseline'), as the
Kubernetes 1.34 documentation states it, on every pod KubeRay creates for a Ray custom resource.

One rule per control, so that a stack can waive one control for one workload, with a reviewed exemption,
without waiving the others. The checks read the pods as KubeRay builds them (policies.ray_pods): the
autoscaler sidecar and the default RayJob submitter are judged too. Linux pods only: Ray does not run on
Windows nodes, so the profile's Windows relaxations do not apply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pulumi_policy import Severity

from policies.objects import mapping, mappings, strings
from policies.ray_pods import RAY_KINDS, Pod, ray_pods
from policies.rules import Rule, Subject, resource_rule

BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}
RESTRICTED_CAPABILITIES = {"NET_BIND_SERVICE"}
VOLUME_TYPES = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
)
SELINUX_TYPES = ("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t")
SECCOMP_TYPES = ("RuntimeDefault", "Localhost")
APPARMOR_TYPES = ("RuntimeDefault", "Localhost")
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HOOKS = ("postStart", "preStop")


def _pod_context(pod: Pod) -> dict[str, Any]:
    return mapping(pod.spec.get("securityContext"))


def _context(container: dict[str, Any]) -> dict[str, Any]:
    return mapping(container.get("securityContext"))


def _contexts(pod: Pod) -> Iterable[tuple[str, dict[str, Any]]]:
    """(who, security context) of the pod and of each container."""
    yield "the pod", _pod_context(pod)
    for container in pod.containers():
        yield f"container {container.get('name', '?')}", _context(container)


def _set(value: Any) -> bool:
    """A flag set to anything but false or nothing (a wrong-shaped value counts as set)."""
    return value not in (None, False)


def _host_process(pod: Pod) -> Iterable[str]:
    for who, context in _contexts(pod):
        if _set(mapping(context.get("windowsOptions")).get("hostProcess")):
            yield f"{who} runs as a Windows HostProcess"


def _host_namespaces(pod: Pod) -> Iterable[str]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if _set(pod.spec.get(field)):
            yield f"the pod shares the node's namespace ({field})"


def _privileged(pod: Pod) -> Iterable[str]:
    for container in pod.containers():
        if _set(_context(container).get("privileged")):
            yield f"container {container.get('name', '?')} is privileged"


def _capabilities(pod: Pod) -> Iterable[str]:
    for container in pod.containers():
        capabilities = mapping(_context(container).get("capabilities"))
        name = container.get("name", "?")
        if "ALL" not in strings(capabilities.get("drop")):
            yield f"container {name} does not drop ALL capabilities"
        added = capabilities.get("add")
        if added is not None and not isinstance(added, list):
            yield f"container {name}: capabilities.add is not a list"
        beyond = sorted({str(c) for c in added or []} - RESTRICTED_CAPABILITIES) if isinstance(added, list) else []
        if beyond:
            kind = "" if set(beyond) <= BASELINE_CAPABILITIES else " (beyond the baseline set too)"
            yield f"container {name} adds {', '.join(beyond)}{kind}; only NET_BIND_SERVICE may be added"


def _volume_types(pod: Pod) -> Iterable[str]:
    for volume in mappings(pod.spec.get("volumes")):
        sources = sorted(k for k, v in volume.items() if k != "name" and v is not None)
        if not any(s in VOLUME_TYPES for s in sources):
            kinds = ", ".join(sources) or "no source"
            yield f"volume {volume.get('name', '?')} is {kinds}, not one of {', '.join(VOLUME_TYPES)}"


def _host_ports(pod: Pod) -> Iterable[str]:
    for container in pod.containers():
        for port in mappings(container.get("ports")):
            if port.get("hostPort") not in (None, 0):
                yield f"container {container.get('name', '?')} binds host port {port.get('hostPort')}"


def _handler_hosts(container: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    lifecycle = mapping(container.get("lifecycle"))
    handlers = [(p, mapping(container.get(p))) for p in PROBES] + [(h, mapping(lifecycle.get(h))) for h in HOOKS]
    for where, handler in handlers:
        for action in ("httpGet", "tcpSocket"):
            yield f"{where}.{action}", mapping(handler.get(action)).get("host")


def _probe_host(pod: Pod) -> Iterable[str]:
    for container in pod.containers():
        for where, host in _handler_hosts(container):
            if host not in (None, ""):
                yield f"container {container.get('name', '?')}: {where} targets host {host}"


def _apparmor(pod: Pod) -> Iterable[str]:
    for who, context in _contexts(pod):
        profile = mapping(context.get("appArmorProfile")).get("type")
        if profile is not None and profile not in APPARMOR_TYPES:
            yield f"{who} sets the AppArmor profile {profile}"
    for key, value in pod.annotations.items():
        allowed = value == "runtime/default" or str(value).startswith("localhost/")
        if key.startswith(APPARMOR_ANNOTATION) and not allowed:
            yield f"annotation {key} sets the AppArmor profile {value}"


def _selinux(pod: Pod) -> Iterable[str]:
    for who, context in _contexts(pod):
        options = mapping(context.get("seLinuxOptions"))
        if options.get("type") not in (None, *SELINUX_TYPES):
            yield f"{who} sets the SELinux type {options.get('type')}"
        for field in ("user", "role"):
            if options.get(field) not in (None, ""):
                yield f"{who} sets the SELinux {field} {options.get(field)}"


def _proc_mount(pod: Pod) -> Iterable[str]:
    for container in pod.containers():
        mount = _context(container).get("procMount")
        if mount not in (None, "Default"):
            yield f"container {container.get('name', '?')} mounts /proc {mount}"


def _seccomp(pod: Pod) -> Iterable[str]:
    pod_profile = mapping(_pod_context(pod).get("seccompProfile")).get("type")
    for who, context in _contexts(pod):
        profile = mapping(context.get("seccompProfile")).get("type")
        if profile is not None and profile not in SECCOMP_TYPES:
            yield f"{who} sets the seccomp profile {profile}"
    if pod_profile in SECCOMP_TYPES:
        return
    for container in pod.containers():
        if mapping(_context(container).get("seccompProfile")).get("type") is None:
            yield f"neither the pod nor container {container.get('name', '?')} sets a seccomp profile (RuntimeDefault)"


def _sysctls(pod: Pod) -> Iterable[str]:
    for sysctl in mappings(_pod_context(pod).get("sysctls")):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            yield f"the pod sets the unsafe sysctl {sysctl.get('name')}"


def _privilege_escalation(pod: Pod) -> Iterable[str]:
    for container in pod.containers():
        if _context(container).get("allowPrivilegeEscalation") is not False:
            yield f"container {container.get('name', '?')} does not set allowPrivilegeEscalation: false"


def _non_root(pod: Pod) -> Iterable[str]:
    pod_level = _pod_context(pod).get("runAsNonRoot")
    if _set(pod_level) and pod_level is not True:
        yield f"the pod sets runAsNonRoot to {pod_level}"
    for container in pod.containers():
        value = _context(container).get("runAsNonRoot")
        if value is not True and not (value is None and pod_level is True):
            yield f"container {container.get('name', '?')} may run as root (runAsNonRoot is not true)"


def _non_root_user(pod: Pod) -> Iterable[str]:
    for who, context in _contexts(pod):
        if context.get("runAsUser") == 0:
            yield f"{who} runs as user 0 (root)"


@dataclass(frozen=True)
class Control:
    name: str
    check: Callable[[Pod], Iterable[str]]
    severity: Severity
    description: str
    remediation: str
    controls: tuple[str, ...]


SECURITY_CONTEXT = "CIS Kubernetes 5.6.3"

CONTROLS = [
    Control(
        "host-process",
        _host_process,
        Severity.CRITICAL,
        "No Ray pod runs a Windows HostProcess container.",
        "Remove securityContext.windowsOptions.hostProcess.",
        ("PSS baseline: HostProcess", "CIS Kubernetes 5.2.10"),
    ),
    Control(
        "host-namespaces",
        _host_namespaces,
        Severity.CRITICAL,
        "No Ray pod shares the node's network, PID or IPC namespace.",
        "Remove hostNetwork, hostPID and hostIPC from the pod template.",
        (
            "PSS baseline: Host Namespaces",
            "CIS EKS 4.2.2",
            "CIS EKS 4.2.3",
            "CIS EKS 4.2.4",
            "CIS Kubernetes 5.2.3",
            "CIS Kubernetes 5.2.4",
            "CIS Kubernetes 5.2.5",
        ),
    ),
    Control(
        "privileged",
        _privileged,
        Severity.CRITICAL,
        "No Ray container is privileged.",
        "Remove securityContext.privileged; GPUs need only the nvidia.com/gpu resource.",
        ("PSS baseline: Privileged Containers", "CIS EKS 4.2.1", "CIS Kubernetes 5.2.2"),
    ),
    Control(
        "capabilities",
        _capabilities,
        Severity.HIGH,
        "Every Ray container drops ALL capabilities and adds back at most NET_BIND_SERVICE.",
        "Set securityContext.capabilities: {drop: [ALL]} on every container, autoscalerOptions included.",
        (
            "PSS baseline: Capabilities",
            "PSS restricted: Capabilities",
            "CIS Kubernetes 5.2.8",
            "CIS Kubernetes 5.2.9",
            SECURITY_CONTEXT,
        ),
    ),
    Control(
        "volume-types",
        _volume_types,
        Severity.HIGH,
        "Ray pods mount only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected "
        "and secret volumes, never a hostPath.",
        "Use a PersistentVolumeClaim (or an emptyDir for scratch) instead of hostPath or a direct volume source.",
        ("PSS baseline: HostPath Volumes", "PSS restricted: Volume Types", "CIS Kubernetes 5.2.11"),
    ),
    Control(
        "host-ports",
        _host_ports,
        Severity.HIGH,
        "No Ray container binds a port on the node.",
        "Remove hostPort; reach Ray through its ClusterIP head service.",
        ("PSS baseline: Host Ports", "CIS Kubernetes 5.2.12"),
    ),
    Control(
        "probe-host",
        _probe_host,
        Severity.MEDIUM,
        "No probe or lifecycle hook of a Ray container targets another host.",
        "Drop the host field of httpGet and tcpSocket probes and hooks; they target the pod itself.",
        ("PSS baseline: Host Probes / Lifecycle Hooks",),
    ),
    Control(
        "apparmor",
        _apparmor,
        Severity.MEDIUM,
        "No Ray pod overrides the runtime's AppArmor profile except with a Localhost one.",
        "Remove appArmorProfile (or use RuntimeDefault or a Localhost profile).",
        ("PSS baseline: AppArmor",),
    ),
    Control(
        "selinux",
        _selinux,
        Severity.MEDIUM,
        "No Ray pod sets a custom SELinux user or role, or a type outside the container types.",
        "Remove seLinuxOptions, or keep only a container_t-family type and a level.",
        ("PSS baseline: SELinux",),
    ),
    Control(
        "proc-mount",
        _proc_mount,
        Severity.MEDIUM,
        "Every Ray container keeps the default masked /proc.",
        "Remove securityContext.procMount (or set it to Default).",
        ("PSS baseline: /proc Mount Type",),
    ),
    Control(
        "seccomp",
        _seccomp,
        Severity.HIGH,
        "Every Ray container runs under the RuntimeDefault (or a Localhost) seccomp profile.",
        "Set the pod's securityContext.seccompProfile.type to RuntimeDefault.",
        (
            "PSS baseline: Seccomp",
            "PSS restricted: Seccomp",
            "CIS GKE 4.6.2",
            "CIS Kubernetes 5.6.2",
            SECURITY_CONTEXT,
        ),
    ),
    Control(
        "sysctls",
        _sysctls,
        Severity.MEDIUM,
        "Ray pods set only the namespaced, safe sysctls.",
        "Remove the sysctl, or tune the node instead through its launch template or node pool config.",
        ("PSS baseline: Sysctls",),
    ),
    Control(
        "privilege-escalation",
        _privilege_escalation,
        Severity.HIGH,
        "Every Ray container sets allowPrivilegeEscalation to false.",
        "Set securityContext.allowPrivilegeEscalation: false on every container, autoscalerOptions included.",
        ("PSS restricted: Privilege Escalation", "CIS EKS 4.2.5", "CIS Kubernetes 5.2.6", SECURITY_CONTEXT),
    ),
    Control(
        "run-as-non-root",
        _non_root,
        Severity.HIGH,
        "Every Ray container is required to run as a non-root user (runAsNonRoot).",
        "Set the pod's securityContext.runAsNonRoot: true and runAsUser: 1000, the Ray image's user.",
        ("PSS restricted: Running as Non-root", "CIS Kubernetes 5.2.7", SECURITY_CONTEXT),
    ),
    Control(
        "run-as-non-root-user",
        _non_root_user,
        Severity.HIGH,
        "No Ray pod or container sets runAsUser to 0.",
        "Run as the Ray image's user, uid 1000 (runAsUser: 1000).",
        ("PSS restricted: Running as Non-root user", "CIS Kubernetes 5.2.7"),
    ),
]


def _rule(control: Control) -> Rule:
    def check(subject: Subject, _config) -> Iterable[str]:
        for pod in ray_pods(subject):
            for message in [*pod.shape_problems(), *control.check(pod)]:
                yield f"{pod.where}: {message}"

    return resource_rule(
        name=f"ray-pod-{control.name}",
        area="ray",
        severity=control.severity,
        types=RAY_KINDS,
        check=check,
        description=control.description,
        remediation=control.remediation,
        controls=control.controls,
    )


POLICIES: list[Rule] = [_rule(control) for control in CONTROLS]
