"""Databases: RDS and Cloud SQL instances encrypted, private, TLS-only, backed up and, in protected
environments, undeletable; no database in a pod of a protected environment's cluster."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import Severity

from policies.objects import mapping, mappings, parse_image
from policies.rules import Rule, Subject, resource_rule, whole
from policies.s3 import PROTECTED_ENVIRONMENT

RDS_INSTANCE = ("aws:rds/instance:Instance",)
CLOUD_SQL = ("gcp:sql/databaseInstance:DatabaseInstance",)
WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
# Database servers whose data, run in a pod, has neither managed backups nor failover.
DATABASE_REPOSITORIES = ("docker.io/library/postgres", "docker.io/library/mysql", "docker.io/library/mariadb")
# Cloud SQL's sslMode values that refuse unencrypted connections.
_TLS_ONLY = ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED")
MIN_BACKUP_RETENTION_DAYS = {
    "minBackupRetentionDays": {
        "type": "integer",
        "default": 7,
        "minimum": 1,
        "description": "The fewest days of automated backups a database keeps.",
    }
}


def _rds_encrypted(subject: Subject, _config) -> Iterable[str]:
    if subject.get("storageEncrypted") is not True:
        yield "storage is not encrypted: set storageEncrypted (it can only be chosen when the instance is created)"
    elif not subject.get("kmsKeyId"):
        yield "storage is encrypted with the AWS managed key: set kmsKeyId to a customer managed key"


def _rds_private(subject: Subject, _config) -> Iterable[str]:
    if subject.get("publiclyAccessible") is not False:
        yield "the instance is publicly accessible: set publiclyAccessible to false"
    if not subject.get("dbSubnetGroupName"):
        yield "no DB subnet group: the instance lands in the default VPC's subnets, not the cluster's private ones"


def _rds_deletion_protected(subject: Subject, config) -> Iterable[str]:
    if not config["protectedEnvironment"]:
        return
    if subject.get("deletionProtection") is not True:
        yield "deletion protection is off: set deletionProtection"
    if subject.get("skipFinalSnapshot") is not False:
        yield "deleting the instance would take no final snapshot: set skipFinalSnapshot to false"
    if not subject.protect:
        yield "the instance is not protected (protect=True)"


def _retention(days: Any, config: Mapping[str, Any], what: str) -> Iterable[str]:
    days = whole(days)
    if not isinstance(days, int) or days < config["minBackupRetentionDays"]:
        yield f"{what} {days if days is not None else 'unset'}: keep at least {config['minBackupRetentionDays']} days"


def _rds_backups(subject: Subject, config) -> Iterable[str]:
    yield from _retention(subject.get("backupRetentionPeriod"), config, "backupRetentionPeriod is")


def _ip_configuration(subject: Subject) -> dict[str, Any]:
    return mapping(subject.get("settings", "ipConfiguration"))


def _cloud_sql_private(subject: Subject, _config) -> Iterable[str]:
    ip = _ip_configuration(subject)
    if ip.get("ipv4Enabled") is not False:
        yield "the instance has a public IPv4 address: set settings.ipConfiguration.ipv4Enabled to false"
    if not ip.get("privateNetwork"):
        yield "no private network: set settings.ipConfiguration.privateNetwork to the cluster's VPC"


def _cloud_sql_tls(subject: Subject, _config) -> Iterable[str]:
    mode = _ip_configuration(subject).get("sslMode")
    if mode not in _TLS_ONLY:
        yield f"sslMode {mode or 'unset'} admits unencrypted connections: set ENCRYPTED_ONLY"


def _cloud_sql_backups(subject: Subject, config) -> Iterable[str]:
    backups = mapping(subject.get("settings", "backupConfiguration"))
    if backups.get("enabled") is not True:
        yield "automated backups are off: set settings.backupConfiguration.enabled"
        return
    retained = mapping(backups.get("backupRetentionSettings")).get("retainedBackups", 7)
    yield from _retention(retained, config, "retainedBackups is")


def _cloud_sql_deletion_protected(subject: Subject, config) -> Iterable[str]:
    if not config["protectedEnvironment"]:
        return
    if subject.get("settings", "deletionProtectionEnabled") is not True:
        yield "deletion protection is off: set settings.deletionProtectionEnabled"
    if not subject.protect:
        yield "the instance is not protected (protect=True)"


def _no_database_pods(subject: Subject, config) -> Iterable[str]:
    if not config["protectedEnvironment"]:
        return
    pod = mapping(mapping(mapping(subject.get("spec")).get("template")).get("spec"))
    for container in mappings(pod.get("containers")):
        image = container.get("image")
        if isinstance(image, str) and parse_image(image).repository in DATABASE_REPOSITORIES:
            yield (
                f"container {container.get('name')} runs a database ({image}) in the cluster: a protected "
                "environment keeps its data in a managed database (RDS, Cloud SQL)"
            )


POLICIES: list[Rule] = [
    resource_rule(
        name="rds-encrypted",
        area="databases",
        severity=Severity.HIGH,
        types=RDS_INSTANCE,
        check=_rds_encrypted,
        description="Every RDS instance encrypts its storage, with a customer managed KMS key.",
        remediation="Set storageEncrypted and kmsKeyId (components/aws/postgres.py creates a key per database).",
        controls=("AWS FSBP RDS.3",),
    ),
    resource_rule(
        name="rds-not-public",
        area="databases",
        severity=Severity.CRITICAL,
        types=RDS_INSTANCE,
        check=_rds_private,
        description="No RDS instance is publicly accessible; each sits in a subnet group of private subnets.",
        remediation="Set publiclyAccessible to false and dbSubnetGroupName to a group of the VPC's private subnets.",
        controls=("AWS FSBP RDS.2",),
    ),
    resource_rule(
        name="rds-deletion-protection",
        area="databases",
        severity=Severity.HIGH,
        types=RDS_INSTANCE,
        config=PROTECTED_ENVIRONMENT,
        check=_rds_deletion_protected,
        description="RDS instances of protected environments have deletion protection, a final snapshot and "
        "Pulumi's protect.",
        remediation="Set deletionProtection, skipFinalSnapshot false with a finalSnapshotIdentifier, and "
        "ResourceOptions(protect=True, retain_on_delete=True).",
        controls=("AWS FSBP RDS.8",),
    ),
    resource_rule(
        name="rds-backups",
        area="databases",
        severity=Severity.MEDIUM,
        types=RDS_INSTANCE,
        config=MIN_BACKUP_RETENTION_DAYS,
        check=_rds_backups,
        description="Every RDS instance keeps automated backups for at least a week.",
        remediation="Set backupRetentionPeriod (tracking.mlflow.database.backupRetentionDays).",
        controls=("AWS FSBP RDS.11",),
    ),
    resource_rule(
        name="cloudsql-no-public-ip",
        area="databases",
        severity=Severity.CRITICAL,
        types=CLOUD_SQL,
        check=_cloud_sql_private,
        description="No Cloud SQL instance has a public IP; each is reached on a private IP in the cluster's VPC.",
        remediation="Set settings.ipConfiguration.ipv4Enabled to false and privateNetwork to the VPC "
        "(with private services access).",
        controls=("CIS GCP 6.6",),
    ),
    resource_rule(
        name="cloudsql-ssl-required",
        area="databases",
        severity=Severity.HIGH,
        types=CLOUD_SQL,
        check=_cloud_sql_tls,
        description="Every Cloud SQL instance refuses connections that are not encrypted.",
        remediation="Set settings.ipConfiguration.sslMode to ENCRYPTED_ONLY (or TRUSTED_CLIENT_CERTIFICATE_REQUIRED).",
        controls=("CIS GCP 6.4",),
    ),
    resource_rule(
        name="cloudsql-backups",
        area="databases",
        severity=Severity.MEDIUM,
        types=CLOUD_SQL,
        config=MIN_BACKUP_RETENTION_DAYS,
        check=_cloud_sql_backups,
        description="Every Cloud SQL instance takes automated backups and keeps at least a week of them.",
        remediation="Set settings.backupConfiguration.enabled and backupRetentionSettings.retainedBackups.",
        controls=("CIS GCP 6.7",),
    ),
    resource_rule(
        name="cloudsql-deletion-protection",
        area="databases",
        severity=Severity.HIGH,
        types=CLOUD_SQL,
        config=PROTECTED_ENVIRONMENT,
        check=_cloud_sql_deletion_protected,
        description="Cloud SQL instances of protected environments have deletion protection and Pulumi's protect.",
        remediation="Set settings.deletionProtectionEnabled and ResourceOptions(protect=True, retain_on_delete=True).",
        controls=("Cloud SQL: Prevent deletion of an instance",),
    ),
    resource_rule(
        name="no-database-pods-in-protected",
        area="databases",
        severity=Severity.HIGH,
        types=WORKLOADS,
        config=PROTECTED_ENVIRONMENT,
        check=_no_database_pods,
        description="Protected environments run no database server in a pod: their data lives in a managed "
        "database with automated backups.",
        remediation="Use tracking.mlflow.database.kind 'managed' (RDS or Cloud SQL) in prod.",
        controls=("AWS FSBP RDS.11", "CIS GCP 6.7"),
    ),
]
