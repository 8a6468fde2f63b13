"""A Cloud KMS key for GKE application-layer secrets encryption, usable by the GKE service agent only."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.options import child_options

ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
# 90 days, the longest rotation period CIS GCP 1.10 allows.
ROTATION_PERIOD = f"{90 * 24 * 3600}s"


def gke_service_agent(project_number: str) -> str:
    """The Google-managed identity GKE's control plane uses to call Cloud KMS."""
    return f"serviceAccount:service-{project_number}@container-engine-robot.iam.gserviceaccount.com"


@dataclass(frozen=True)
class SecretsKeyArgs:
    cluster_name: str
    project: str
    # The key ring's location must be the cluster's (a region for a regional cluster).
    location: str
    project_number: pulumi.Input[str]
    labels: dict[str, str]
    protect: bool


class SecretsKey(pulumi.ComponentResource):
    """A key ring and a rotating key; the GKE service agent may encrypt and decrypt with this key only.

    Key rings and keys cannot be deleted from a project, and a key whose versions are destroyed leaves the
    secrets encrypted with it unreadable: both outlive their removal from the program.
    """

    ring: gcp.kms.KeyRing
    key: gcp.kms.CryptoKey
    grant: gcp.kms.CryptoKeyIAMMember

    def __init__(
        self, name: str, args: SecretsKeyArgs, *, provider: gcp.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rayplat:gcp:SecretsKey", name, None, opts)
        kept = pulumi.ResourceOptions.merge(
            child_options(self, provider, opts), pulumi.ResourceOptions(protect=args.protect, retain_on_delete=True)
        )
        self.ring = ring = gcp.kms.KeyRing(
            name, name=f"{args.cluster_name}-gke", location=args.location, project=args.project, opts=kept
        )
        self.key = gcp.kms.CryptoKey(
            name,
            name="kubernetes-secrets",
            key_ring=ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=ROTATION_PERIOD,
            labels=args.labels,
            opts=kept,
        )
        self.grant = gcp.kms.CryptoKeyIAMMember(
            name,
            crypto_key_id=self.key.id,
            role=ENCRYPTER_DECRYPTER,
            member=pulumi.Output.from_input(args.project_number).apply(gke_service_agent),
            opts=child_options(self, provider, opts),
        )
        self.register_outputs({"key": self.key.id})
