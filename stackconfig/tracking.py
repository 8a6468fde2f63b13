"""tracking.mlflow: an optional MLflow tracking server per stack, and the PostgreSQL database behind it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import Field

from stackconfig.base import ConfigModel, raw_bool, raw_mapping

# The database a stack gets when it names no instance class: the smallest sizes fit for a team's runs.
DEFAULT_INSTANCE_CLASS = {"aws": "db.t4g.medium", "gcp": "db-custom-1-3840"}
# How each cloud spells an instance class (RDS "db.<family>.<size>", Cloud SQL tiers "db-...").
_CLASS_PREFIX = {"aws": "db.", "gcp": "db-"}
_MANAGED_BY = {"aws": "RDS PostgreSQL", "gcp": "Cloud SQL PostgreSQL"}


class TrackingDatabaseConfig(ConfigModel):
    # managed: RDS PostgreSQL on AWS, Cloud SQL PostgreSQL on GCP. inCluster: a PostgreSQL pod with a
    # volume, for dev and local stacks only (refused in prod).
    kind: Literal["managed", "inCluster"] = "managed"
    # RDS instance class or Cloud SQL tier; the cloud's smallest production size when unset.
    instance_class: str | None = Field(default=None, min_length=1)
    storage_gib: int = Field(default=20, ge=20, le=1024)
    backup_retention_days: int = Field(default=7, ge=1, le=35)


class MlflowConfig(ConfigModel):
    enabled: bool = False
    database: TrackingDatabaseConfig = TrackingDatabaseConfig()


class TrackingConfig(ConfigModel):
    mlflow: MlflowConfig = MlflowConfig()


def tracking_problems(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """The rules that span tracking.mlflow and the stack's cloud and environment."""
    mlflow = raw_mapping(raw_mapping(raw.get("tracking")).get("mlflow"))
    if not raw_bool(mlflow.get("enabled")):
        return
    database = raw_mapping(mlflow.get("database"))
    kind, cloud = database.get("kind", "managed"), raw.get("cloud")
    key = "tracking.mlflow.database"
    if kind == "inCluster" and raw.get("environment") == "prod":
        yield (
            f"{key}.kind",
            "'inCluster' is not allowed in prod: MLflow's runs and models need a managed database with "
            "backups (kind: managed)",
        )
    if kind == "managed" and cloud == "existing":
        yield f"{key}.kind", "an existing cluster has no managed database: use 'inCluster' (dev and local only)"
    instance_class = database.get("instanceClass")
    if kind == "inCluster" and instance_class is not None:
        yield f"{key}.instanceClass", "applies to a managed database only (kind: managed)"
    prefix = _CLASS_PREFIX.get(cloud) if isinstance(cloud, str) else None
    if (
        kind == "managed"
        and isinstance(cloud, str)
        and isinstance(instance_class, str)
        and prefix
        and not instance_class.startswith(prefix)
    ):
        yield (
            f"{key}.instanceClass",
            f"'{instance_class}' is not an {_MANAGED_BY[cloud]} instance class "
            f"(such as '{DEFAULT_INSTANCE_CLASS[cloud]}')",
        )
    existing = raw_mapping(raw.get("existing"))
    if cloud == "existing" and existing and existing.get("networkPolicyEnforced") is not True:
        yield (
            "existing.networkPolicyEnforced",
            "must be true with tracking.mlflow.enabled: the NetworkPolicies that admit only team namespaces to "
            "MLflow, and only MLflow to its database, apply only where the CNI enforces them",
        )
