"""GKE clusters and node pools as the CIS GKE Benchmark wants them: NetworkPolicy enforced, groups that
RoleBindings name actually filled, no legacy metadata, managed upgrades and repairs, logs and metrics on,
a release channel; in protected environments, deletion protection, secrets encrypted with a Cloud KMS key
and intranode visibility."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import Severity

from policies.rules import Rule, Subject, as_list, of_type, resource_rule, stack_rule
from policies.s3 import PROTECTED_ENVIRONMENT

CLUSTER = ("gcp:container/cluster:Cluster",)
NODE_POOL = ("gcp:container/nodePool:NodePool",)
ROLE_BINDINGS = (
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
)
RELEASE_CHANNELS = ("RAPID", "REGULAR", "STABLE", "EXTENDED")
SECURITY_GROUP_PREFIX = "gke-security-groups@"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _legacy_metadata(subject: Subject, _config) -> Iterable[str]:
    metadata = _mapping(subject.get("nodeConfig", "metadata"))
    value = metadata.get("disable-legacy-endpoints")
    # A cluster's own node config only describes its default pool, which the platform removes.
    if (subject.type in NODE_POOL or value is not None) and str(value).lower() != "true":
        yield (
            f'nodeConfig.metadata disable-legacy-endpoints is {value or "unset"}, not "true": pods can '
            "read the node's metadata without the Metadata-Flavor header"
        )


def _management(flag: str, what: str):
    def check(subject: Subject, _config) -> Iterable[str]:
        if subject.get("management", flag) is not True:
            yield f"node {what} is off (management.{flag} is {subject.get('management', flag)})"

    return check


def _logging_monitoring(subject: Subject, _config) -> Iterable[str]:
    for service, config, what in (
        ("loggingService", "loggingConfig", "logging"),
        ("monitoringService", "monitoringConfig", "monitoring"),
    ):
        components = subject.get(config, "enableComponents")
        if subject.get(service) == "none":
            yield f"Cloud {what} is off ({service} none)"
        elif components is not None and "SYSTEM_COMPONENTS" not in as_list(components):
            yield f"Cloud {what} of system components is off ({config}.enableComponents {as_list(components)})"


def _release_channel(subject: Subject, _config) -> Iterable[str]:
    channel = subject.get("releaseChannel", "channel")
    if channel not in RELEASE_CHANNELS:
        yield f"the cluster is in no release channel ({channel or 'unset'}): upgrades and patches are manual"


def _deletion_protection(subject: Subject, config) -> Iterable[str]:
    # Unset, the provider protects the cluster.
    if config["protectedEnvironment"] and subject.get("deletionProtection") is False:
        yield "deletion protection is off: one change could delete the cluster and every workload on it"


def _network_policy(subject: Subject, _config) -> Iterable[str]:
    if subject.get("datapathProvider") == "ADVANCED_DATAPATH" or subject.get("enableAutopilot") is True:
        return
    calico = subject.get("networkPolicy", "enabled") is True
    if not (calico and subject.get("addonsConfig", "networkPolicyConfig", "disabled") is False):
        yield (
            "NetworkPolicies are not enforced: set datapathProvider ADVANCED_DATAPATH (Dataplane V2), or "
            "enable the network policy add-on and networkPolicy"
        )


def _secrets_encryption(subject: Subject, config) -> Iterable[str]:
    encryption = _mapping(subject.get("databaseEncryption"))
    if config["protectedEnvironment"] and not (encryption.get("state") == "ENCRYPTED" and encryption.get("keyName")):
        yield "Kubernetes secrets are not encrypted with a Cloud KMS key (databaseEncryption)"


def _intranode_visibility(subject: Subject, config) -> Iterable[str]:
    if config["protectedEnvironment"] and subject.get("enableIntranodeVisibility") is not True:
        yield "intranode visibility is off: traffic between pods of one node escapes flow logs and firewalls"


def _team_groups(subjects: list[Subject]) -> list[str]:
    names = {
        str(member.get("name"))
        for binding in of_type(subjects, ROLE_BINDINGS)
        for member in as_list(binding.get("subjects"))
        if isinstance(member, dict) and member.get("kind") == "Group"
    }
    return sorted(n for n in names if not n.startswith("system:"))


def _google_groups(subjects: list[Subject], _config) -> Iterable[tuple[Subject, str]]:
    groups = _team_groups(subjects)
    for cluster in of_type(subjects, CLUSTER) if groups else []:
        group = cluster.get("authenticatorGroupsConfig", "securityGroup")
        if not (isinstance(group, str) and group.startswith(SECURITY_GROUP_PREFIX)):
            yield (
                cluster,
                f"RoleBindings name the groups {', '.join(groups)}, but Google Groups for RBAC is off "
                f"(authenticatorGroupsConfig.securityGroup {group or 'unset'}): nobody is ever in them",
            )


POLICIES: list[Rule] = [
    resource_rule(
        name="gke-network-policy-enforced",
        area="gcp",
        severity=Severity.HIGH,
        types=CLUSTER,
        check=_network_policy,
        description="GKE enforces NetworkPolicies (Dataplane V2, or the network policy add-on), so namespace "
        "isolation is real.",
        remediation="Create clusters with datapathProvider ADVANCED_DATAPATH (it cannot be changed later).",
        controls=("CIS GKE 5.6.7", "CIS GKE 4.3.1"),
    ),
    stack_rule(
        name="gke-google-groups-rbac",
        area="gcp",
        severity=Severity.HIGH,
        types=CLUSTER,
        reads=ROLE_BINDINGS,
        check=_google_groups,
        description="A GKE cluster whose RoleBindings name groups has Google Groups for RBAC, which puts "
        "users in those groups.",
        remediation="Set gcp.rbacSecurityGroup to gke-security-groups@<your domain> and nest the team groups in it.",
        controls=("CIS GKE 5.8.2",),
    ),
    resource_rule(
        name="gke-legacy-metadata-off",
        area="gcp",
        severity=Severity.HIGH,
        types=(*CLUSTER, *NODE_POOL),
        check=_legacy_metadata,
        description="GKE nodes disable the legacy Compute Engine metadata endpoints.",
        remediation='Set nodeConfig.metadata {"disable-legacy-endpoints": "true"} on every node pool.',
        controls=("CIS GKE 1.5.0 5.4.1",),
    ),
    resource_rule(
        name="gke-node-auto-repair",
        area="gcp",
        severity=Severity.MEDIUM,
        types=NODE_POOL,
        check=_management("autoRepair", "auto-repair"),
        description="GKE node pools repair unhealthy nodes automatically.",
        remediation="Set management.autoRepair to true.",
        controls=("CIS GKE 5.5.2",),
    ),
    resource_rule(
        name="gke-node-auto-upgrade",
        area="gcp",
        severity=Severity.MEDIUM,
        types=NODE_POOL,
        check=_management("autoUpgrade", "auto-upgrade"),
        description="GKE node pools upgrade automatically, so nodes get security patches.",
        remediation="Set management.autoUpgrade to true; control timing with maintenance windows.",
        controls=("CIS GKE 5.5.3",),
    ),
    resource_rule(
        name="gke-logging-monitoring",
        area="gcp",
        severity=Severity.MEDIUM,
        types=CLUSTER,
        check=_logging_monitoring,
        description="GKE sends system component logs and metrics to Cloud Logging and Cloud Monitoring.",
        remediation="Keep loggingService and monitoringService unset (or the kubernetes services) and "
        "SYSTEM_COMPONENTS in loggingConfig and monitoringConfig.",
        controls=("CIS GKE 5.7.1",),
    ),
    resource_rule(
        name="gke-release-channel",
        area="gcp",
        severity=Severity.MEDIUM,
        types=CLUSTER,
        check=_release_channel,
        description="GKE clusters are enrolled in a release channel, which keeps them on supported, patched versions.",
        remediation="Set gcp.releaseChannel (REGULAR or STABLE); the platform sets releaseChannel.channel.",
        controls=("CIS GKE 5.5.4",),
    ),
    resource_rule(
        name="gke-deletion-protection",
        area="gcp",
        severity=Severity.HIGH,
        types=CLUSTER,
        config=PROTECTED_ENVIRONMENT,
        check=_deletion_protection,
        description="GKE clusters of protected environments cannot be deleted by a change.",
        remediation="Keep deletionProtection true (the platform sets it in prod); turn it off deliberately, in "
        "a reviewed change, before removing a cluster.",
    ),
    resource_rule(
        name="gke-secrets-encryption",
        area="gcp",
        severity=Severity.HIGH,
        types=CLUSTER,
        config=PROTECTED_ENVIRONMENT,
        check=_secrets_encryption,
        description="GKE clusters of protected environments encrypt Kubernetes secrets with a Cloud KMS key.",
        remediation="Set databaseEncryption {state: ENCRYPTED, keyName: <key>} and grant the GKE service agent "
        "roles/cloudkms.cryptoKeyEncrypterDecrypter on that key (the platform does in prod).",
        controls=("CIS GKE 5.3.1",),
    ),
    resource_rule(
        name="gke-intranode-visibility",
        area="gcp",
        severity=Severity.MEDIUM,
        types=CLUSTER,
        config=PROTECTED_ENVIRONMENT,
        check=_intranode_visibility,
        description="GKE clusters of protected environments send traffic between pods of one node through the "
        "VPC, where flow logs and firewalls see it.",
        remediation="Set enableIntranodeVisibility to true.",
        controls=("CIS GKE 5.6.1",),
    ),
]
