"""Cloud SQL PostgreSQL for the platform's own services (MLflow's backend store): a private IP in the
cluster's VPC only (private services access), TLS required, backed up, and in production highly available,
encrypted with a key of its own and neither deletable nor lost when removed from the program."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from catalog import versions
from components.gcp.kms import ENCRYPTER_DECRYPTER, ROTATION_PERIOD
from components.handle import Postgres, PostgresSpec
from components.options import child_options

POSTGRES_PORT = 5432
USER = "platform"
# The private services access range Google peers into the VPC for Cloud SQL (a /20 holds its instances).
PEERING_PREFIX_LENGTH = 20


def cloud_sql_service_agent(project_number: str) -> str:
    """The Google-managed identity Cloud SQL uses to call Cloud KMS."""
    return f"serviceAccount:service-{project_number}@gcp-sa-cloud-sql.iam.gserviceaccount.com"


@dataclass(frozen=True)
class CloudSqlArgs:
    project: str
    region: str
    network: pulumi.Input[str]
    cluster_name: str
    labels: dict[str, str]
    protect: bool = False


class CloudSqlPostgres(pulumi.ComponentResource):
    instance: gcp.sql.DatabaseInstance
    postgres: Postgres

    def __init__(
        self,
        name: str,
        args: CloudSqlArgs,
        spec: PostgresSpec,
        *,
        provider: gcp.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rayplat:gcp:Postgres", name, None, opts)
        child = child_options(self, provider, opts)
        stateful = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect)
        )
        peering = gcp.compute.GlobalAddress(
            name,
            purpose="VPC_PEERING",
            address_type="INTERNAL",
            prefix_length=PEERING_PREFIX_LENGTH,
            network=args.network,
            labels=args.labels,
            opts=child,
        )
        connection = gcp.servicenetworking.Connection(
            name,
            network=args.network,
            service="servicenetworking.googleapis.com",
            reserved_peering_ranges=[peering.name],
            opts=child,
        )
        key, key_ready = self._key(name, args, spec.database, child, stateful) if args.protect else (None, [])
        after_network = pulumi.ResourceOptions.merge(
            stateful, pulumi.ResourceOptions(depends_on=[connection, *key_ready])
        )
        self.instance = gcp.sql.DatabaseInstance(
            name,
            database_version=versions.CLOUD_SQL_POSTGRES_VERSION,
            region=args.region,
            project=args.project,
            encryption_key_name=key,
            deletion_protection=args.protect,
            settings=gcp.sql.DatabaseInstanceSettingsArgs(
                tier=spec.instance_class,
                edition="ENTERPRISE",
                availability_type="REGIONAL" if args.protect else "ZONAL",
                disk_size=spec.storage_gib,
                disk_autoresize=True,
                deletion_protection_enabled=args.protect,
                retain_backups_on_delete=args.protect,
                ip_configuration=gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
                    ipv4_enabled=False,
                    private_network=args.network,
                    ssl_mode="ENCRYPTED_ONLY",
                ),
                backup_configuration=gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
                    enabled=True,
                    point_in_time_recovery_enabled=True,
                    start_time="03:00",
                    backup_retention_settings=gcp.sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                        retained_backups=spec.backup_retention_days
                    ),
                ),
                user_labels=args.labels,
            ),
            opts=after_network,
        )
        database = gcp.sql.Database(name, name=spec.database, instance=self.instance.name, opts=child)
        password = random.RandomPassword(f"{name}-password", length=40, special=False, opts=child)
        user = gcp.sql.User(name, name=USER, instance=self.instance.name, password=password.result, opts=child)
        self.postgres = Postgres(
            host=self.instance.private_ip_address,
            port=POSTGRES_PORT,
            database=spec.database,
            user=USER,
            password=password.result,
            ready=[self.instance, database, user],
        )
        self.register_outputs({"connection_name": self.instance.connection_name})

    def _key(
        self,
        name: str,
        args: CloudSqlArgs,
        database: str,
        child: pulumi.ResourceOptions,
        stateful: pulumi.ResourceOptions,
    ) -> tuple[pulumi.Output[str], list[pulumi.Resource]]:
        """A rotating key in the instance's region that only Cloud SQL's service agent may use. Key rings and
        keys cannot be deleted from a project: both are kept when removed from the program."""
        kept = pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(retain_on_delete=True))
        ring = gcp.kms.KeyRing(
            name, name=f"{args.cluster_name}-{database}-db", location=args.region, project=args.project, opts=kept
        )
        key = gcp.kms.CryptoKey(
            name,
            name="database",
            key_ring=ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=ROTATION_PERIOD,
            labels=args.labels,
            opts=kept,
        )
        agent = gcp.projects.ServiceIdentity(name, service="sqladmin.googleapis.com", project=args.project, opts=child)
        project = gcp.organizations.get_project_output(
            project_id=args.project, opts=pulumi.InvokeOptions(provider=child.provider)
        )
        grant = gcp.kms.CryptoKeyIAMMember(
            name,
            crypto_key_id=key.id,
            role=ENCRYPTER_DECRYPTER,
            member=project.number.apply(cloud_sql_service_agent),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[agent])),
        )
        return key.id, [grant]


def cloud_sql_factory(args: CloudSqlArgs, *, provider: gcp.Provider, parent: pulumi.Resource):
    """A function (name, spec) -> a Cloud SQL PostgreSQL database, created under ``parent``."""

    def create(name: str, spec: PostgresSpec) -> Postgres:
        return CloudSqlPostgres(
            name, args, spec, provider=provider, opts=pulumi.ResourceOptions(parent=parent)
        ).postgres

    return create
