"""An Artifact Registry remote repository of Docker Hub: the nodes pull the Ray images from the cluster's region,
and Artifact Registry fetches each from Docker Hub once. Encrypted with the stack's key where it has one."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from catalog.registries import artifact_registry_mirror, artifact_registry_repository
from components.gcp.kms import ENCRYPTER_DECRYPTER

READER = "roles/artifactregistry.reader"


def artifact_registry_service_agent(project_number: str) -> str:
    """The Google-managed identity Artifact Registry encrypts a repository's contents with."""
    return f"serviceAccount:service-{project_number}@gcp-sa-artifactregistry.iam.gserviceaccount.com"


@dataclass(frozen=True)
class ArtifactRegistryCacheArgs:
    cluster_name: str
    project: str
    region: str
    # The nodes' service account: reads (and through that, fills) the cache.
    node_service_account: pulumi.Input[str]
    # A Cloud KMS key of the region (CMEK), or None: Google-managed encryption.
    kms_key: str | None
    project_number: pulumi.Input[str]
    labels: dict[str, str]


class ArtifactRegistryCache(pulumi.ComponentResource):
    # Where the Docker Hub images are pulled from: <region>-docker.pkg.dev/<project>/<cluster>-docker-hub.
    mirror: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: ArtifactRegistryCacheArgs,
        *,
        provider: gcp.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rayplat:gcp:ArtifactRegistryCache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        waits: list[pulumi.Resource] = []
        if args.kms_key:
            waits.append(
                gcp.kms.CryptoKeyIAMMember(
                    f"{name}-key",
                    crypto_key_id=args.kms_key,
                    role=ENCRYPTER_DECRYPTER,
                    member=pulumi.Output.from_input(args.project_number).apply(artifact_registry_service_agent),
                    opts=child,
                )
            )
        repository_id = artifact_registry_repository(args.cluster_name)
        repository = gcp.artifactregistry.Repository(
            name,
            repository_id=repository_id,
            location=args.region,
            format="DOCKER",
            mode="REMOTE_REPOSITORY",
            description="Docker Hub, pulled through for the Ray images",
            remote_repository_config={"docker_repository": {"public_repository": "DOCKER_HUB"}},
            kms_key_name=args.kms_key,
            labels=args.labels,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=waits)),
        )
        reader = gcp.artifactregistry.RepositoryIamMember(
            f"{name}-nodes",
            repository=repository.repository_id,
            project=args.project,
            location=args.region,
            role=READER,
            member=pulumi.Output.from_input(args.node_service_account).apply(lambda email: f"serviceAccount:{email}"),
            opts=child,
        )
        mirror = artifact_registry_mirror(args.project, args.region, args.cluster_name)
        # Pods naming the mirror wait for the repository and for their nodes' permission to read it.
        self.mirror = pulumi.Output.all(repository.id, reader.id).apply(lambda _: mirror)
        self.register_outputs({"mirror": self.mirror})
