"""The Redis (Memorystore) that keeps a Ray head's GCS state across a head failure: one per highly available
team cluster, peered into the stack's VPC only (no public address), AUTH and TLS in transit, encrypted at rest
with a key of the stack's key ring in protected stacks, replicated across zones, snapshotted hourly and kept
in production."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from catalog import versions
from components.gcp.kms import ENCRYPTER_DECRYPTER, ROTATION_PERIOD
from components.handle import GcsRedis


def redis_service_agent(project_number: str) -> str:
    """The Google-managed identity Memorystore for Redis uses to call Cloud KMS."""
    return f"serviceAccount:service-{project_number}@cloud-redis.iam.gserviceaccount.com"


@dataclass(frozen=True)
class GcsStoreArgs:
    # The stack's VPC: the instance is reachable from it alone (direct peering).
    network: pulumi.Input[str]
    region: str
    labels: dict[str, str]
    protect: bool = False
    # Protected stacks: the stack's key ring (a key per store, usable by Memorystore only) and the project
    # number that names Memorystore's service agent.
    key_ring: pulumi.Input[str] | None = None
    project_number: pulumi.Input[str] | None = None


def _ca_bundle(certs: Sequence[gcp.redis.outputs.InstanceServerCaCert] | None) -> str:
    return "".join(cert.cert or "" for cert in certs or [])


def gcs_store_factory(args: GcsStoreArgs, *, provider: gcp.Provider, parent: pulumi.Resource):
    """A function (name, team) -> the team cluster's Redis, created under ``parent``."""

    def create(name: str, team: str) -> GcsRedis:
        child = pulumi.ResourceOptions(parent=parent, provider=provider)
        kept = pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect)
        stateful = pulumi.ResourceOptions.merge(child, kept)
        key = None
        if args.key_ring is not None:
            # Keys cannot be deleted from a project; data encrypted with a destroyed key is lost with it.
            key = gcp.kms.CryptoKey(
                name,
                name=f"ray-gcs-{team}",
                key_ring=args.key_ring,
                purpose="ENCRYPT_DECRYPT",
                rotation_period=ROTATION_PERIOD,
                labels=args.labels,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=True, retain_on_delete=True)),
            )
            grant = gcp.kms.CryptoKeyIAMMember(
                name,
                crypto_key_id=key.id,
                role=ENCRYPTER_DECRYPTER,
                member=pulumi.Output.from_input(args.project_number).apply(lambda n: redis_service_agent(str(n))),
                opts=child,
            )
            stateful = pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(depends_on=[grant]))
        # The instance id is Pulumi's auto-name of this logical name: at most 36 characters, lowercase, starting
        # with a letter, as Memorystore requires (team names are at most 20, starting with a letter).
        redis = gcp.redis.Instance(
            f"ray-{team}-gcs",
            display_name=f"Ray GCS fault tolerance, team {team}",
            tier="STANDARD_HA" if args.protect else "BASIC",
            memory_size_gb=1,
            redis_version=versions.MEMORYSTORE_REDIS_VERSION,
            region=args.region,
            authorized_network=args.network,
            connect_mode="DIRECT_PEERING",
            auth_enabled=True,
            transit_encryption_mode="SERVER_AUTHENTICATION",
            customer_managed_key=key.id if key else None,
            # Protected stacks also snapshot to disk, so that losing both nodes loses an hour at most.
            persistence_config=gcp.redis.InstancePersistenceConfigArgs(
                persistence_mode="RDB", rdb_snapshot_period="ONE_HOUR"
            )
            if args.protect
            else None,
            labels=args.labels,
            opts=stateful,
        )
        address = pulumi.Output.concat("rediss://", redis.host, ":", redis.port.apply(str))
        return GcsRedis(
            address=address,
            password=pulumi.Output.secret(redis.auth_string),
            ca_pem=redis.server_ca_certs.apply(_ca_bundle),
            host=redis.host,
        )

    return create
