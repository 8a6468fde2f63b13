"""RDS PostgreSQL for the platform's own services (MLflow's backend store): in the private subnets, reachable
from the cluster's nodes only, TLS required, encrypted with a key of its own, backed up, and in production
neither deletable nor lost with a final snapshot taken."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from catalog import versions
from catalog.tagging import with_name
from components.aws import iam_documents
from components.aws.account import AwsAccount
from components.aws.keys import customer_key
from components.aws.security_groups import from_cluster_nodes
from components.handle import Postgres, PostgresSpec
from components.options import child_options

POSTGRES_PORT = 5432
USER = "platform"


@dataclass(frozen=True)
class RdsPostgresArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    # The security group of the cluster's nodes (EKS's cluster security group): the only source admitted.
    node_security_group_id: pulumi.Input[str]
    admin_role_arn: str
    tags: dict[str, str]
    protect: bool = False


class RdsPostgres(pulumi.ComponentResource):
    instance: aws.rds.Instance
    postgres: Postgres

    def __init__(
        self,
        name: str,
        args: RdsPostgresArgs,
        spec: PostgresSpec,
        *,
        provider: aws.Provider,
        account: AwsAccount,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rayplat:aws:Postgres", name, None, opts)
        child = child_options(self, provider, opts)
        # protect: `pulumi up` refuses to delete or replace it; retain_on_delete: removed from the program, the
        # instance stays in the account.
        stateful = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect)
        )
        tags, database = args.tags, spec.database
        key = customer_key(
            f"{name}-key",
            alias=f"alias/{name}",
            description=f"Encryption of the {database} database",
            policy=pulumi.Output.all(account.account_id, account.partition, account.dns_suffix).apply(
                lambda v: json.dumps(
                    iam_documents.database_key_policy(v[0], args.admin_role_arn, account.region, v[1], v[2])
                )
            ),
            tags=tags,
            key_opts=stateful,
            alias_opts=child,
        )
        subnets = aws.rds.SubnetGroup(
            name, description=f"{database} database: private subnets", subnet_ids=args.subnet_ids, tags=tags, opts=child
        )
        group = from_cluster_nodes(
            name,
            description=f"{database} database: PostgreSQL from the cluster's nodes only",
            rule_description="PostgreSQL (TLS) from the cluster's nodes",
            vpc_id=args.vpc_id,
            node_security_group_id=args.node_security_group_id,
            port=POSTGRES_PORT,
            tags=tags,
            opts=child,
        )
        # rds.force_ssl refuses connections without TLS (the default of PostgreSQL 15 and later, made explicit).
        parameters = aws.rds.ParameterGroup(
            name,
            family=f"postgres{versions.POSTGRES_MAJOR_VERSION}",
            description=f"{database} database: TLS required",
            parameters=[aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1")],
            tags=tags,
            opts=child,
        )
        password = random.RandomPassword(f"{name}-password", length=40, special=False, opts=child)
        self.instance = aws.rds.Instance(
            name,
            engine="postgres",
            engine_version=versions.POSTGRES_MAJOR_VERSION,
            auto_minor_version_upgrade=True,
            instance_class=spec.instance_class,
            allocated_storage=spec.storage_gib,
            max_allocated_storage=spec.storage_gib * 4,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key.arn,
            db_name=database,
            username=USER,
            password=password.result,
            port=POSTGRES_PORT,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[group.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            multi_az=args.protect,
            backup_retention_period=spec.backup_retention_days,
            copy_tags_to_snapshot=True,
            deletion_protection=args.protect,
            skip_final_snapshot=not args.protect,
            final_snapshot_identifier=f"{name}-final" if args.protect else None,
            delete_automated_backups=not args.protect,
            tags=with_name(tags, name),
            opts=stateful,
        )
        self.postgres = Postgres(
            host=self.instance.address,
            port=POSTGRES_PORT,
            database=database,
            user=USER,
            password=password.result,
            ready=[self.instance],
        )
        self.register_outputs({"address": self.instance.address})


def rds_postgres_factory(
    args: RdsPostgresArgs, *, provider: aws.Provider, account: AwsAccount, parent: pulumi.Resource
):
    """A function (name, spec) -> an RDS PostgreSQL database, created under ``parent``."""

    def create(name: str, spec: PostgresSpec) -> Postgres:
        return RdsPostgres(
            name,
            args,
            spec,
            provider=provider,
            account=account,
            opts=pulumi.ResourceOptions(parent=parent),
        ).postgres

    return create
