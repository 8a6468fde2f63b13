"""Where the platform's pull-through caches of Docker Hub serve images from, by cloud."""

from __future__ import annotations

# The repository prefix of the ECR pull-through cache rule (<registry>/docker-hub/rayproject/ray).
ECR_CACHE_PREFIX = "docker-hub"


def ecr_mirror(account_id: str, region: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account_id}.dkr.ecr.{region}.{suffix}/{ECR_CACHE_PREFIX}"


def artifact_registry_repository(cluster_name: str) -> str:
    return f"{cluster_name}-docker-hub"


def artifact_registry_mirror(project: str, region: str, cluster_name: str) -> str:
    return f"{region}-docker.pkg.dev/{project}/{artifact_registry_repository(cluster_name)}"
