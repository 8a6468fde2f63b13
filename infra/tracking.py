"""tracking.mlflow mapped to the MLflow component's args."""

from __future__ import annotations

from catalog.labels import TEAM_NAMESPACE_PREFIX
from components.handle import PostgresSpec
from components.kubernetes.tracking import DATABASE, TrackingArgs
from stackconfig.platform import PlatformConfig
from stackconfig.tracking import DEFAULT_INSTANCE_CLASS


def tracking_args(config: PlatformConfig) -> TrackingArgs:
    database = config.tracking.mlflow.database
    instance_class = database.instance_class or DEFAULT_INSTANCE_CLASS.get(config.cloud, "")
    return TrackingArgs(
        teams={team.name: f"{TEAM_NAMESPACE_PREFIX}{team.name}" for team in config.teams},
        database=PostgresSpec(
            database=DATABASE,
            instance_class=instance_class,
            storage_gib=database.storage_gib,
            backup_retention_days=database.backup_retention_days,
        ),
        in_cluster_database=database.kind == "inCluster",
        replicas=2 if config.protected else 1,
    )
