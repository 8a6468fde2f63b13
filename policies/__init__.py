"""The ray-platform policy pack: governance rules for Pulumi CrossGuard, grouped by area.

``pulumi preview --policy-pack policies`` runs them through ``policies/__main__.py``; ``rayplat check``
runs the same objects in-process on the offline plan.
"""

from policies import (
    access,
    cost,
    databases,
    eks,
    eks_access,
    gcp,
    gcp_iam,
    gcp_kms,
    gcp_network,
    gcs_reach,
    gcs_redis,
    gke,
    iam,
    isolation,
    karpenter,
    kms,
    kubernetes,
    kueue,
    network,
    pod_security,
    ray_auth,
    ray_serve,
    ray_workloads,
    s3,
    sso,
    supply_chain,
    tagging,
    team_access,
)
from policies.rules import Rule

PACK_NAME = "ray-platform"
ALL_POLICIES: list[Rule] = [
    *s3.POLICIES,
    *eks.POLICIES,
    *eks_access.POLICIES,
    *kms.POLICIES,
    *iam.POLICIES,
    *network.POLICIES,
    *kubernetes.POLICIES,
    *tagging.POLICIES,
    *gcp.POLICIES,
    *gke.POLICIES,
    *gcp_iam.POLICIES,
    *gcp_network.POLICIES,
    *gcp_kms.POLICIES,
    *pod_security.POLICIES,
    *ray_workloads.POLICIES,
    *ray_serve.POLICIES,
    *access.POLICIES,
    *isolation.POLICIES,
    *kueue.POLICIES,
    *supply_chain.POLICIES,
    *cost.POLICIES,
    *karpenter.POLICIES,
    *team_access.POLICIES,
    *ray_auth.POLICIES,
    *gcs_redis.POLICIES,
    *gcs_reach.POLICIES,
    *sso.POLICIES,
    *databases.POLICIES,
]
