"""GKE and GCS: private nodes, Workload Identity, shielded nodes, a node identity of its own, closed buckets,
no primitive roles."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from pulumi_policy import Severity

from catalog.gcp_machines import GPU_MACHINES
from policies.gcp_iam import ALL_IAM, UnreadableGrant, grants
from policies.rules import Rule, Subject, as_list, resource_rule

CLUSTER = ("gcp:container/cluster:Cluster",)
NODE_POOL = ("gcp:container/nodePool:NodePool",)
BUCKET = ("gcp:storage/bucket:Bucket",)
PRIMITIVE_ROLES = ("roles/owner", "roles/editor", "roles/viewer")


def _node_config(subject: Subject) -> dict:
    return subject.get("nodeConfig", default={})


def _private_nodes(subject: Subject, _config) -> Iterable[str]:
    if subject.get("privateClusterConfig", "enablePrivateNodes") is not True:
        yield "nodes have public IP addresses: enable privateClusterConfig.enablePrivateNodes"


def _control_plane_access(subject: Subject, _config) -> Iterable[str]:
    if subject.get("privateClusterConfig", "enablePrivateEndpoint") is True:
        return
    blocks = as_list(subject.get("masterAuthorizedNetworksConfig", "cidrBlocks"))
    if not subject.get("masterAuthorizedNetworksConfig"):
        yield "the public control plane accepts every network: set masterAuthorizedNetworksConfig"
    for block in blocks:
        cidr = block.get("cidrBlock", "")
        try:
            if ipaddress.ip_network(cidr, strict=False).prefixlen == 0:
                yield f"the control plane is open to {cidr}"
        except ValueError:
            yield f"'{cidr}' is not a network"


def _workload_identity(subject: Subject, _config) -> Iterable[str]:
    if subject.type in CLUSTER and not subject.get("workloadIdentityConfig", "workloadPool"):
        yield "Workload Identity is off: pods would use the node's service account"
    mode = _node_config(subject).get("workloadMetadataConfig", {}).get("mode")
    if subject.type in NODE_POOL and mode != "GKE_METADATA":
        yield f"node metadata mode is {mode or 'unset'}, not GKE_METADATA: pods can read the node's credentials"


def _shielded(subject: Subject, _config) -> Iterable[str]:
    if subject.type in CLUSTER and subject.get("enableShieldedNodes") is False:
        yield "shielded nodes are disabled for the cluster"
    shielded = _node_config(subject).get("shieldedInstanceConfig", {})
    if subject.type in NODE_POOL and shielded.get("enableSecureBoot") is not True:
        yield "secure boot is off on the pool's nodes"
    if subject.type in NODE_POOL and shielded.get("enableIntegrityMonitoring") is False:
        yield "integrity monitoring is off on the pool's nodes"


def _node_identity(subject: Subject, _config) -> Iterable[str]:
    account = _node_config(subject).get("serviceAccount", "")
    if subject.type in CLUSTER and subject.get("enableAutopilot") is True:
        return
    if not account or account == "default" or account.endswith("-compute@developer.gserviceaccount.com"):
        yield "nodes run as the default compute service account (Editor on the project)"


def _legacy_auth(subject: Subject, _config) -> Iterable[str]:
    if subject.get("enableLegacyAbac") is True:
        yield "legacy ABAC authorization is on"
    if subject.get("masterAuth", "clientCertificateConfig", "issueClientCertificate") is True:
        yield "client certificates are issued (long-lived, not revocable)"


def _gpu_tainted(subject: Subject, _config) -> Iterable[str]:
    config = _node_config(subject)
    machine = GPU_MACHINES.get(config.get("machineType", ""))
    has_gpu = bool(as_list(config.get("guestAccelerators"))) or (machine is not None and machine.gpus > 0)
    taints = as_list(config.get("taints"))
    if has_gpu and not any(t.get("key") == "nvidia.com/gpu" and t.get("effect") == "NO_SCHEDULE" for t in taints):
        yield "a GPU node pool without the nvidia.com/gpu NoSchedule taint lets any pod take its GPU nodes"


def _public_access_prevention(subject: Subject, _config) -> Iterable[str]:
    if subject.get("publicAccessPrevention") != "enforced":
        yield f"public access prevention is {subject.get('publicAccessPrevention') or 'inherited'}, not enforced"


def _uniform_access(subject: Subject, _config) -> Iterable[str]:
    if subject.get("uniformBucketLevelAccess") is not True:
        yield "object ACLs are allowed: enable uniform bucket-level access"


def _versioning(subject: Subject, _config) -> Iterable[str]:
    if subject.get("versioning", "enabled") is not True:
        yield "object versioning is off"


def _primitive_roles(subject: Subject, _config) -> Iterable[str]:
    try:
        found = grants(subject)
    except UnreadableGrant as exc:
        yield f"cannot judge the grant: {exc}"
        return
    for role in sorted({role for role, _ in found if role in PRIMITIVE_ROLES}):
        yield f"grants the primitive role {role}; use a predefined or custom role"


POLICIES: list[Rule] = [
    resource_rule(
        name="gke-private-nodes",
        area="gcp",
        severity=Severity.HIGH,
        types=CLUSTER,
        check=_private_nodes,
        description="GKE nodes have private addresses only.",
        remediation="Set privateClusterConfig.enablePrivateNodes (the platform's clusters do) and egress through NAT.",
        controls=("CIS GKE 5.6.5",),
    ),
    resource_rule(
        name="gke-control-plane-access",
        area="gcp",
        severity=Severity.CRITICAL,
        types=CLUSTER,
        check=_control_plane_access,
        description="The GKE control plane is private, or reachable from listed networks only.",
        remediation="Use cluster.endpoint.access private, or list your CIDRs in cluster.endpoint.publicCidrs.",
        controls=("CIS GKE 5.6.3", "CIS GKE 5.6.4"),
    ),
    resource_rule(
        name="gke-workload-identity",
        area="gcp",
        severity=Severity.HIGH,
        types=(*CLUSTER, *NODE_POOL),
        check=_workload_identity,
        description="Pods get Google identities through Workload Identity, never the node's service account.",
        remediation="Set workloadIdentityConfig on the cluster and workloadMetadataConfig.mode GKE_METADATA on pools.",
        controls=("CIS GKE 5.2.2", "CIS GKE 5.4.1"),
    ),
    resource_rule(
        name="gke-shielded-nodes",
        area="gcp",
        severity=Severity.MEDIUM,
        types=(*CLUSTER, *NODE_POOL),
        check=_shielded,
        description="GKE nodes are shielded VMs with secure boot and integrity monitoring.",
        remediation="Keep enableShieldedNodes on and set shieldedInstanceConfig.enableSecureBoot and "
        "enableIntegrityMonitoring on every pool.",
        controls=("CIS GKE 5.5.5", "CIS GKE 5.5.6", "CIS GKE 5.5.7"),
    ),
    resource_rule(
        name="gke-no-default-service-account",
        area="gcp",
        severity=Severity.HIGH,
        types=(*CLUSTER, *NODE_POOL),
        check=_node_identity,
        description="GKE nodes run as a dedicated least-privilege service account, not the default compute one.",
        remediation="Create a node service account with logging, monitoring and registry-read roles only.",
        controls=("CIS GKE 5.2.1",),
    ),
    resource_rule(
        name="gke-legacy-auth-off",
        area="gcp",
        severity=Severity.HIGH,
        types=CLUSTER,
        check=_legacy_auth,
        description="Legacy ABAC and client certificates are off on GKE clusters.",
        remediation="Set enableLegacyAbac false and masterAuth.clientCertificateConfig.issueClientCertificate false.",
        controls=("CIS GKE 5.8.1", "CIS GKE 5.8.3"),
    ),
    resource_rule(
        name="gke-gpu-pools-tainted",
        area="gcp",
        severity=Severity.HIGH,
        types=NODE_POOL,
        check=_gpu_tainted,
        description="GKE GPU node pools carry the nvidia.com/gpu NoSchedule taint, so only GPU work lands there.",
        remediation="Add the taint nvidia.com/gpu=present:NO_SCHEDULE to the pool's nodeConfig.",
    ),
    resource_rule(
        name="gcs-public-access-prevention",
        area="gcp",
        severity=Severity.CRITICAL,
        types=BUCKET,
        check=_public_access_prevention,
        description="Buckets enforce public access prevention.",
        remediation="Set publicAccessPrevention to enforced.",
        controls=("CIS GCP 5.1",),
    ),
    resource_rule(
        name="gcs-uniform-access",
        area="gcp",
        severity=Severity.HIGH,
        types=BUCKET,
        check=_uniform_access,
        description="Buckets use uniform bucket-level access, so IAM alone decides who reads.",
        remediation="Set uniformBucketLevelAccess to true.",
        controls=("CIS GCP 5.2",),
    ),
    resource_rule(
        name="gcs-versioning",
        area="gcp",
        severity=Severity.MEDIUM,
        types=BUCKET,
        check=_versioning,
        description="Buckets keep object versions, so an overwrite or delete can be undone.",
        remediation="Set versioning.enabled to true.",
    ),
    resource_rule(
        name="gcp-no-primitive-roles",
        area="gcp",
        severity=Severity.HIGH,
        types=ALL_IAM,
        check=_primitive_roles,
        description="No IAM grant uses the primitive owner, editor or viewer roles.",
        remediation="Grant the predefined role that covers the need (for objects, roles/storage.objectUser).",
        controls=("CIS GCP 1.5",),
    ),
]
