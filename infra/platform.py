"""The composition root: a validated config in, the cloud layer, the kubernetes layer, stack outputs out."""

from __future__ import annotations

import pulumi

from components import versions
from components.aws.cluster import AwsCluster
from components.kubernetes.platform import KubernetesPlatform, RayWorkloads
from infra.config import PlatformConfig


def build_platform(config: PlatformConfig) -> None:
    stack = pulumi.get_stack()
    cloud = AwsCluster(f"{stack}", config)
    handle = cloud.handle
    kubernetes = KubernetesPlatform(
        f"{stack}-platform",
        handle,
        RayWorkloads(namespace=config.ray.namespace, service_account=config.ray.service_account),
    )

    pulumi.export("cloud", config.cloud)
    pulumi.export("region", config.aws.region)
    pulumi.export("vpcId", cloud.vpc_id)
    pulumi.export("clusterName", handle.name)
    pulumi.export("clusterEndpoint", cloud.eks.endpoint)
    pulumi.export("kubeconfig", cloud.eks.kubeconfig)
    pulumi.export("oidcProviderArn", cloud.eks.oidc.provider_arn)
    pulumi.export("artifactBucket", handle.object_store.bucket)
    pulumi.export("artifactBucketUri", handle.object_store.uri)
    pulumi.export("artifactKmsKeyArn", cloud.store.key_arn)
    pulumi.export("rayNamespace", config.ray.namespace)
    pulumi.export("rayServiceAccount", config.ray.service_account)
    pulumi.export("rayServiceAccountAnnotations", kubernetes.ray_service_account_annotations)
    pulumi.export("kuberayVersion", versions.KUBERAY_VERSION)
    pulumi.export("rayVersion", versions.RAY_VERSION)
    pulumi.export(
        "gpuPools",
        {
            pool.name: {
                "instanceTypes": pool.instance_types,
                "gpuModel": pool.gpu_model,
                "gpusPerNode": pool.gpus_per_node,
                "minSize": pool.min_size,
                "maxSize": pool.max_size,
                "maxGpus": pool.max_gpus,
            }
            for pool in handle.gpu_pools
        },
    )
