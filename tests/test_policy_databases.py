"""The database rules: the compliant baseline (prod's RDS, gcp-prod's Cloud SQL, their MLflow server) passes,
one changed field fails, through the pack's own analyzer; a value of the wrong shape is a violation."""

from __future__ import annotations

import pytest

from tests.policy_support import baseline, changed, check, outcome
from tests.test_policy_rules import Case, _set, check_case

RDS = "aws:rds/instance:Instance"
CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def _cloud_sql(policy: str, path: str, value, expected: str) -> Case:
    return Case(policy, CLOUD_SQL, "gcp-prod-mlflow-db", _set(path, value), expected, stack="gcp-prod")


DATABASE_CASES = [
    Case(
        "rds-encrypted",
        RDS,
        "prod-mlflow-db",
        _set("storageEncrypted", False),
        "storage is not encrypted",
        stack="prod",
    ),
    Case("rds-encrypted", RDS, "prod-mlflow-db", _set("kmsKeyId", ""), "the AWS managed key", stack="prod"),
    Case(
        "rds-not-public", RDS, "prod-mlflow-db", _set("publiclyAccessible", True), "publicly accessible", stack="prod"
    ),
    Case(
        "rds-deletion-protection",
        RDS,
        "prod-mlflow-db",
        _set("deletionProtection", False),
        "deletion protection is off",
        stack="prod",
    ),
    Case(
        "rds-deletion-protection",
        RDS,
        "prod-mlflow-db",
        _set("skipFinalSnapshot", True),
        "would take no final snapshot",
        stack="prod",
    ),
    Case("rds-backups", RDS, "prod-mlflow-db", _set("backupRetentionPeriod", 1), "keep at least 7 days", stack="prod"),
    _cloud_sql("cloudsql-no-public-ip", "settings.ipConfiguration.ipv4Enabled", True, "has a public IPv4 address"),
    _cloud_sql(
        "cloudsql-ssl-required",
        "settings.ipConfiguration.sslMode",
        "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
        "admits unencrypted connections",
    ),
    _cloud_sql("cloudsql-backups", "settings.backupConfiguration.enabled", False, "automated backups are off"),
    _cloud_sql(
        "cloudsql-deletion-protection", "settings.deletionProtectionEnabled", False, "deletion protection is off"
    ),
    Case(
        "no-database-pods-in-protected",
        DEPLOYMENT,
        "prod-mlflow-server",
        _set("spec.template.spec.containers.0.image", "postgres:17.6"),
        "runs a database (postgres:17.6) in the cluster",
        stack="prod",
    ),
]


@pytest.mark.parametrize("case", DATABASE_CASES, ids=[f"{c.policy}:{c.expected}" for c in DATABASE_CASES])
def test_rule_passes_baseline_and_fails_on_one_change(case):
    check_case(case)


def test_the_stateful_rule_covers_the_databases():
    for stack, type_, name in (("prod", RDS, "prod-mlflow-db"), ("gcp-prod", CLOUD_SQL, "gcp-prod-mlflow-db")):
        plan = changed(baseline(stack), type_, name, lambda r: setattr(r, "protect", False))
        finding = outcome(check(plan), "stateful-resources-protected", type_, name)
        assert finding.status == "failed" and "holds data but is not protected" in finding.message


def test_an_in_cluster_database_passes_where_the_environment_is_not_protected():
    finding = outcome(check(baseline("dev")), "no-database-pods-in-protected", DEPLOYMENT, "dev-mlflow-postgres")
    assert finding.status == "passed"


@pytest.mark.parametrize(
    ("policy", "value"),
    [("cloudsql-no-public-ip", "not a mapping"), ("cloudsql-backups", ["a", "list"]), ("cloudsql-ssl-required", 7)],
)
def test_a_settings_value_of_the_wrong_shape_is_a_violation_not_an_error(policy, value):
    plan = changed(baseline("gcp-prod"), CLOUD_SQL, "gcp-prod-mlflow-db", _set("settings", value))
    finding = outcome(check(plan), policy, CLOUD_SQL, "gcp-prod-mlflow-db")
    assert finding.status == "failed", finding
