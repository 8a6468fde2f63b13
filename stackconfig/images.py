"""Where the Ray images come from: Docker Hub, or the cloud's pull-through cache of it."""

from __future__ import annotations

from pydantic import Field

from stackconfig.base import ConfigModel

# ECR accepts only a Secrets Manager secret whose name begins with this prefix as an upstream credential.
ECR_CREDENTIAL_PREFIX = "ecr-pullthroughcache/"
ECR_CREDENTIAL_ARN = rf"^arn:aws[\w-]*:secretsmanager:[a-z0-9-]+:\d{{12}}:secret:{ECR_CREDENTIAL_PREFIX}[\w/+=.@-]+$"


class ImagesConfig(ConfigModel):
    # Pull the Ray images through a cache in the cloud (AWS: an ECR pull-through cache rule; GCP: an Artifact
    # Registry remote repository), so that scaling up does not depend on Docker Hub.
    mirror: bool = False
    # AWS: the Secrets Manager secret (its name begins with ecr-pullthroughcache/) holding the Docker Hub
    # username and access token ECR pulls with; ECR refuses a Docker Hub rule without one.
    docker_hub_credential_arn: str | None = Field(default=None, pattern=ECR_CREDENTIAL_ARN)
