"""The cloud layers' arguments, read from the stack configuration: the only place that maps config to them."""

from __future__ import annotations

from catalog.karpenter import DISCOVERY_TAG
from catalog.tagging import cost_labels
from components.aws.cluster import AwsCluster, AwsClusterArgs, ExistingVpc
from components.aws.eks import TeamAccess
from components.aws.network import NetworkArgs
from components.aws.storage import ArtifactStoreArgs
from components.existing.cluster import ExistingCluster, ExistingClusterArgs, MinioStore, S3Store
from components.gcp.cluster import GcpCluster, GcpClusterArgs
from components.gcp.network import GcpNetworkArgs
from components.gcp.storage import GcsArtifactStoreArgs
from components.handle import GcsRedis
from infra.pools import existing_pool_spec, karpenter_options, managed_pools
from stackconfig.platform import PlatformConfig


def aws_cluster(stack: str, config: PlatformConfig) -> AwsCluster:
    tags = config.cost_tags()
    cluster_name = config.cluster_name(stack)
    network = config.aws_network
    endpoint = config.cluster.endpoint
    storage = config.storage
    system_pool, gpu_pools = managed_pools(config)
    karpenter = config.aws_settings.provisioner == "karpenter"
    if network.existing is not None:
        vpc: NetworkArgs | ExistingVpc = ExistingVpc(network.existing.vpc_id, network.existing.private_subnet_ids)
    else:
        assert network.vpc_cidr is not None, "validated: a created VPC has a CIDR"
        vpc = NetworkArgs(
            cluster_name=cluster_name,
            cidr=network.vpc_cidr,
            availability_zones=network.availability_zones,
            nat_per_az=network.nat_per_az,
            tags=tags,
            private_subnet_tags={DISCOVERY_TAG: cluster_name} if karpenter else {},
        )
    args = AwsClusterArgs(
        cluster_name=cluster_name,
        region=config.aws_settings.region,
        kubernetes_version=config.cluster.kubernetes_version,
        public_endpoint=endpoint.access == "public",
        public_cidrs=endpoint.public_cidrs,
        admin_role_arn=config.admin_role_arn,
        deploy_role_arn=config.cluster.deploy_role_arn,
        log_retention_days=config.log_retention_days,
        protect=config.protected,
        network=vpc,
        system_pool=system_pool,
        gpu_pools=gpu_pools,
        storage=ArtifactStoreArgs(
            bucket_name=storage.bucket_name,
            force_destroy=storage.force_destroy,
            protect=config.protected,
            noncurrent_version_expiration_days=storage.noncurrent_version_expiration_days,
            abort_incomplete_multipart_upload_days=storage.abort_incomplete_multipart_upload_days,
            admin_role_arn=config.admin_role_arn,
            tags=tags,
        ),
        managed_prometheus=config.observability.managed_prometheus,
        tags=tags,
        karpenter=karpenter_options(config) if karpenter else None,
        karpenter_replicas=2 if config.protected else 1,
        team_access=[
            TeamAccess(team=team.name, group=team.members.group, role_arns=team.aws.role_arns)
            for team in config.teams
            if team.aws is not None
        ],
    )
    return AwsCluster(stack, args)


def gcp_cluster(stack: str, config: PlatformConfig) -> GcpCluster:
    settings = config.gcp_settings
    labels = config.cost_tags()
    endpoint = config.cluster.endpoint
    storage = config.storage
    system_pool, gpu_pools = managed_pools(config)
    args = GcpClusterArgs(
        cluster_name=config.cluster_name(stack),
        project=settings.project,
        region=settings.region,
        zones=settings.zones,
        network=GcpNetworkArgs(
            region=settings.region,
            subnet_cidr=settings.network.subnet_cidr,
            pods_cidr=settings.network.pods_cidr,
            services_cidr=settings.network.services_cidr,
        ),
        master_cidr=settings.network.master_cidr,
        private_endpoint=endpoint.access == "private",
        authorized_cidrs=endpoint.public_cidrs,
        release_channel=settings.release_channel,
        rbac_security_group=settings.rbac_security_group,
        protect=config.protected,
        system_pool=system_pool,
        gpu_pools=gpu_pools,
        storage=GcsArtifactStoreArgs(
            bucket_name=storage.bucket_name,
            location=settings.region,
            force_destroy=storage.force_destroy,
            protect=config.protected,
            kms_key=settings.bucket_kms_key,
            noncurrent_version_expiration_days=storage.noncurrent_version_expiration_days,
            abort_incomplete_multipart_upload_days=storage.abort_incomplete_multipart_upload_days,
            labels=labels,
        ),
        labels=labels,
    )
    return GcpCluster(stack, args)


def existing_cluster(stack: str, config: PlatformConfig) -> ExistingCluster:
    settings = config.existing_settings
    store = settings.object_store
    object_store: MinioStore | S3Store
    if store.minio is not None:
        object_store = MinioStore(bucket=store.minio.bucket, storage_gib=store.minio.storage_gib)
    else:
        assert store.s3 is not None, "validated: exactly one of s3 or minio"
        object_store = S3Store(
            bucket=store.s3.bucket,
            endpoint=store.s3.endpoint,
            region=store.s3.region,
            credentials_secret=store.s3.credentials_secret,
        )
    args = ExistingClusterArgs(
        context=settings.context,
        kubeconfig=settings.kubeconfig,
        system_pool=existing_pool_spec(settings.system_pool),
        gpu_pools=[existing_pool_spec(p) for p in settings.gpu_pools],
        object_store=object_store,
        install_device_plugin=settings.install_device_plugin,
        cost_labels=cost_labels(config.cost_tags()),
        gcs_redis=GcsRedis(
            address=settings.gcs_redis.address,
            password_secret=(settings.gcs_redis.password_secret.name, settings.gcs_redis.password_secret.key),
        )
        if settings.gcs_redis
        else None,
    )
    return ExistingCluster(stack, args)
