"""The input fields whose change makes a provider replace a resource instead of updating it in place, for
every resource type the platform creates on every cloud.

From the providers' schemas and documentation: the pulumi-aws and pulumi-gcp resource docs mark such
fields "Changing this forces a new resource" (Terraform's ForceNew); Kubernetes replaces an object whose
name or namespace changes, and the API server refuses updates of immutable fields (a StorageClass's
provisioner and parameters, a RoleBinding's roleRef); random's resources regenerate when any input
changes. Paths are input paths in the plan (wire names); a path matches itself and everything below it.
An empty tuple says nothing forces a replacement.
"""

from __future__ import annotations

_S3_BUCKET_CHILD = ("bucket", "expectedBucketOwner")
_GCP_IAM_MEMBER = ("role", "member", "condition")
_K8S = ("metadata.name", "metadata.namespace")

REPLACE_ON: dict[str, tuple[str, ...]] = {
    # AWS
    "aws:autoscaling/tag:Tag": ("autoscalingGroupName", "tag.key"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix", "logGroupClass"),
    "aws:ec2/eip:Eip": ("address", "domain", "networkBorderGroup", "publicIpv4Pool", "customerOwnedIpv4Pool"),
    "aws:ec2/internetGateway:InternetGateway": (),
    "aws:ec2/launchTemplate:LaunchTemplate": ("name", "namePrefix"),
    "aws:ec2/natGateway:NatGateway": ("allocationId", "subnetId", "connectivityType", "privateIp"),
    "aws:ec2/routeTable:RouteTable": ("vpcId",),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("subnetId", "gatewayId"),
    "aws:ec2/subnet:Subnet": ("vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"),
    "aws:ec2/vpc:Vpc": ("cidrBlock", "instanceTenancy", "ipv4IpamPoolId", "ipv4NetmaskLength"),
    "aws:eks/accessEntry:AccessEntry": ("clusterName", "principalArn", "type"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": (
        "clusterName",
        "principalArn",
        "policyArn",
        "accessScope",
    ),
    "aws:eks/addon:Addon": ("clusterName", "addonName"),
    "aws:eks/cluster:Cluster": (
        "name",
        "roleArn",
        "encryptionConfig",
        "kubernetesNetworkConfig",
        "accessConfig.bootstrapClusterCreatorAdminPermissions",
        "bootstrapSelfManagedAddons",
    ),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", "vpcId", "description"),
    "aws:elasticache/replicationGroup:ReplicationGroup": (
        "replicationGroupId",
        "atRestEncryptionEnabled",
        "kmsKeyId",
        "port",
        "subnetGroupName",
        "snapshotArns",
        "snapshotName",
        "preferredCacheClusterAzs",
        "securityGroupNames",
        "dataTieringEnabled",
        "globalReplicationGroupId",
    ),
    "aws:elasticache/subnetGroup:SubnetGroup": ("name",),
    "aws:eks/nodeGroup:NodeGroup": (
        "clusterName",
        "nodeGroupName",
        "nodeGroupNamePrefix",
        "nodeRoleArn",
        "subnetIds",
        "amiType",
        "instanceTypes",
        "capacityType",
        "diskSize",
        "remoteAccess",
        "launchTemplate.id",
        "launchTemplate.name",
    ),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url",),
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": (
        "ecrRepositoryPrefix",
        "upstreamRegistryUrl",
        "upstreamRepositoryPrefix",
        "region",
    ),
    "aws:iam/policy:Policy": ("name", "namePrefix", "path", "description"),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
    "aws:kms/alias:Alias": ("name", "namePrefix"),
    # Cost controls (the Terraform provider's ForceNew fields).
    "aws:budgets/budget:Budget": ("accountId", "name", "namePrefix"),
    "aws:costexplorer/anomalyMonitor:AnomalyMonitor": ("monitorType", "monitorDimension", "monitorSpecification"),
    "aws:costexplorer/anomalySubscription:AnomalySubscription": ("accountId",),
    "aws:costexplorer/costAllocationTag:CostAllocationTag": ("tagKey",),
    # Karpenter's interruption queue, its EventBridge rules and the discovery tags.
    "aws:sqs/queue:Queue": ("name", "namePrefix", "fifoQueue"),
    "aws:sqs/queuePolicy:QueuePolicy": ("queueUrl",),
    "aws:cloudwatch/eventRule:EventRule": ("name", "namePrefix", "eventBusName"),
    "aws:cloudwatch/eventTarget:EventTarget": ("rule", "targetId", "eventBusName"),
    "aws:ec2/tag:Tag": ("resourceId", "key"),
    "aws:sns/topic:Topic": ("name", "namePrefix", "fifoTopic"),
    "aws:sns/topicPolicy:TopicPolicy": ("arn",),
    "aws:sns/topicSubscription:TopicSubscription": ("topicArn", "protocol", "endpoint"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix", "objectLockEnabled"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _S3_BUCKET_CHILD,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ("bucket",),
    "aws:s3/bucketPolicy:BucketPolicy": ("bucket",),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ("bucket",),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _S3_BUCKET_CHILD,
    "aws:s3/bucketVersioning:BucketVersioning": _S3_BUCKET_CHILD,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("securityGroupId",),
    # The tracking server's database.
    "aws:rds/instance:Instance": (
        "identifier",
        "identifierPrefix",
        "engine",
        "availabilityZone",
        "dbName",
        "username",
        "storageEncrypted",
        "kmsKeyId",
        "characterSetName",
        "ncharCharacterSetName",
        "snapshotIdentifier",
        "restoreToPointInTime",
        "s3Import",
        "timezone",
        "customIamInstanceProfile",
    ),
    "aws:rds/parameterGroup:ParameterGroup": ("name", "namePrefix", "family", "description"),
    "aws:rds/subnetGroup:SubnetGroup": ("name", "namePrefix"),
    # GCP
    # A firewall rule's name, network and direction are fixed at creation.
    "gcp:compute/firewall:Firewall": ("name", "project", "network", "direction"),
    "gcp:compute/network:Network": ("name", "project", "autoCreateSubnetworks", "description"),
    "gcp:compute/router:Router": ("name", "region", "project", "network"),
    "gcp:compute/routerNat:RouterNat": ("name", "router", "region", "project"),
    "gcp:compute/subnetwork:Subnetwork": ("name", "region", "project", "network"),
    # The GKE cluster's immutable fields (datapathProvider: Dataplane V2 is chosen at creation only).
    "gcp:container/cluster:Cluster": (
        "name",
        "location",
        "project",
        "network",
        "subnetwork",
        "networkingMode",
        "datapathProvider",
        "ipAllocationPolicy",
        "privateClusterConfig.enablePrivateNodes",
        "privateClusterConfig.masterIpv4CidrBlock",
        "initialNodeCount",
        "masterAuth.clientCertificateConfig",
        "enableAutopilot",
        "confidentialNodes",
    ),
    "gcp:container/nodePool:NodePool": (
        "name",
        "namePrefix",
        "cluster",
        "location",
        "project",
        "initialNodeCount",
        "nodeConfig.guestAccelerators",
        "nodeConfig.spot",
        "nodeConfig.preemptible",
        "nodeConfig.serviceAccount",
        "nodeConfig.oauthScopes",
    ),
    "gcp:artifactregistry/repository:Repository": (
        "repositoryId",
        "location",
        "project",
        "format",
        "mode",
        "kmsKeyName",
        "remoteRepositoryConfig.dockerRepository",
    ),
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": (
        "repository",
        "location",
        "project",
        *_GCP_IAM_MEMBER,
    ),
    "gcp:billing/budget:Budget": ("billingAccount",),
    "gcp:monitoring/notificationChannel:NotificationChannel": ("project",),
    "gcp:kms/cryptoKey:CryptoKey": ("name", "keyRing", "purpose", "importOnly", "skipInitialVersionCreation"),
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": ("cryptoKeyId", *_GCP_IAM_MEMBER),
    "gcp:kms/keyRing:KeyRing": ("name", "location", "project"),
    "gcp:iap/webIamMember:WebIamMember": ("project", *_GCP_IAM_MEMBER),
    "gcp:projects/iAMMember:IAMMember": ("project", *_GCP_IAM_MEMBER),
    # Memorystore: the instance's placement, network, tier, TLS mode and CMEK key are chosen at creation.
    "gcp:redis/instance:Instance": (
        "name",
        "project",
        "region",
        "locationId",
        "alternativeLocationId",
        "authorizedNetwork",
        "connectMode",
        "reservedIpRange",
        "tier",
        "transitEncryptionMode",
        "customerManagedKey",
        "readReplicasMode",
    ),
    "gcp:serviceaccount/account:Account": ("accountId", "project"),
    "gcp:serviceaccount/iAMMember:IAMMember": ("serviceAccountId", *_GCP_IAM_MEMBER),
    "gcp:storage/bucket:Bucket": ("name", "location", "project"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("bucket", *_GCP_IAM_MEMBER),
    # The tracking server's database, and the private services access it is reached through.
    "gcp:sql/databaseInstance:DatabaseInstance": (
        "name",
        "project",
        "region",
        "masterInstanceName",
        "encryptionKeyName",
        "replicaConfiguration",
        "clone",
    ),
    "gcp:sql/database:Database": ("name", "instance", "project"),
    "gcp:sql/user:User": ("name", "instance", "project", "host", "type"),
    "gcp:compute/globalAddress:GlobalAddress": (
        "name",
        "project",
        "address",
        "addressType",
        "purpose",
        "prefixLength",
        "network",
        "ipVersion",
        "description",
    ),
    "gcp:servicenetworking/connection:Connection": ("network", "service"),
    "gcp:projects/serviceIdentity:ServiceIdentity": ("service", "project"),
    # Kubernetes
    # Kubernetes refuses a new selector for a Deployment, and a new cluster IP for a Service.
    "kubernetes:apps/v1:Deployment": (*_K8S, "spec.selector"),
    "kubernetes:core/v1:ConfigMap": _K8S,
    "kubernetes:core/v1:LimitRange": _K8S,
    "kubernetes:core/v1:Namespace": _K8S,
    # A claim's spec is immutable but for its storage request (which may only grow).
    "kubernetes:core/v1:PersistentVolumeClaim": (
        *_K8S,
        "spec.storageClassName",
        "spec.accessModes",
        "spec.selector",
        "spec.volumeName",
        "spec.volumeMode",
        "spec.dataSource",
        "spec.dataSourceRef",
    ),
    "kubernetes:core/v1:ResourceQuota": _K8S,
    "kubernetes:core/v1:Secret": (*_K8S, "type"),
    "kubernetes:core/v1:Service": (*_K8S, "spec.clusterIP", "spec.clusterIPs"),
    "kubernetes:core/v1:ServiceAccount": _K8S,
    "kubernetes:cloud.google.com/v1:BackendConfig": _K8S,
    "kubernetes:helm.sh/v3:Release": ("name", "namespace"),
    "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass": _K8S,
    "kubernetes:karpenter.sh/v1:NodePool": _K8S,
    "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue": _K8S,
    "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue": _K8S,
    "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor": _K8S,
    "kubernetes:monitoring.coreos.com/v1:PodMonitor": _K8S,
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule": _K8S,
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor": _K8S,
    "kubernetes:networking.k8s.io/v1:Ingress": _K8S,
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": _K8S,
    "kubernetes:policy/v1:PodDisruptionBudget": _K8S,
    "kubernetes:ray.io/v1:RayCluster": _K8S,
    "kubernetes:ray.io/v1:RayService": _K8S,
    "kubernetes:rbac.authorization.k8s.io/v1:Role": _K8S,
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": (*_K8S, "roleRef"),
    "kubernetes:storage.k8s.io/v1:StorageClass": (
        *_K8S,
        "provisioner",
        "parameters",
        "reclaimPolicy",
        "volumeBindingMode",
        "allowedTopologies",
    ),
    # random: every input regenerates the value.
    "random:index/randomPassword:RandomPassword": (
        "keepers",
        "length",
        "lower",
        "minLower",
        "minNumeric",
        "minSpecial",
        "minUpper",
        "numeric",
        "overrideSpecial",
        "special",
        "upper",
    ),
}


def forcing_fields(resource_type: str) -> tuple[str, ...]:
    return REPLACE_ON.get(resource_type, ())


def matches(path: str, field: str) -> bool:
    """Whether a changed input ``path`` is the replace-forcing ``field`` or lies below it."""
    return path == field or path.startswith((f"{field}.", f"{field}["))


def forcing_inputs(resource_type: str, input_name: str) -> bool:
    """Whether the top-level input ``input_name`` holds a replace-forcing field (a replaced resource's new
    value flowing into it forces this resource's replacement too)."""
    return any(f.split(".", 1)[0] == input_name for f in forcing_fields(resource_type))
