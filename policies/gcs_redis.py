"""The Redis a Ray head keeps its GCS state in (ElastiCache on AWS, Memorystore on GCP): clients must
authenticate and talk TLS, since the state holds every job's and actor's metadata."""

from __future__ import annotations

from collections.abc import Iterable

from pulumi_policy import Severity

from policies.rules import Rule, Subject, resource_rule

ELASTICACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
MEMORYSTORE = "gcp:redis/instance:Instance"


def _auth_and_tls(subject: Subject, _config) -> Iterable[str]:
    if subject.type == ELASTICACHE:
        if subject.get("transitEncryptionEnabled") is not True:
            yield "transitEncryptionEnabled is not true: GCS state and the auth token cross the network in clear"
        if subject.get("authToken") in (None, ""):
            yield "no authToken: any client that reaches the port reads and writes the GCS state"
        return
    if subject.get("authEnabled") is not True:
        yield "authEnabled is not true: AUTH is off, any client that reaches the instance reads the GCS state"
    mode = subject.get("transitEncryptionMode")
    if mode != "SERVER_AUTHENTICATION":
        yield f"transitEncryptionMode is {mode or 'unset'}, not SERVER_AUTHENTICATION: no TLS in transit"


POLICIES: list[Rule] = [
    resource_rule(
        name="gcs-redis-auth-and-tls",
        area="ray",
        severity=Severity.HIGH,
        types=(ELASTICACHE, MEMORYSTORE),
        check=_auth_and_tls,
        description="A Redis that keeps Ray GCS state requires authentication and encrypts traffic in transit.",
        remediation="ElastiCache: transitEncryptionEnabled true and an authToken; Memorystore: authEnabled true "
        "and transitEncryptionMode SERVER_AUTHENTICATION (both replace the instance: migrate to a new one).",
        controls=("AWS FSBP ElastiCache.5", "AWS FSBP ElastiCache.6", "Memorystore for Redis: in-transit encryption"),
    ),
]
