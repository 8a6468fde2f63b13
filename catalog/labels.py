"""The names the platform writes on nodes, namespaces and pods, and that policies and reports read back;
the shape of a Kubernetes label."""

import re

POOL_LABEL = "rayplat.io/pool"
ROLE_LABEL = "rayplat.io/node-role"
ACCELERATOR_LABEL = "rayplat.io/accelerator"
# The NVIDIA device plugin chart's default node affinity selects nodes with this label.
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
GPU_RESOURCE = "nvidia.com/gpu"

GPU_TAINT = {"key": GPU_RESOURCE, "value": "present", "effect": "NoSchedule"}
GPU_TOLERATION = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}

# A team's namespace and ClusterQueue carry the team's name under this label; the namespace names the team's
# group in this annotation (a group name need not be a valid label value). The policy pack reads both.
TEAM_LABEL = "rayplat.io/team"
TEAM_GROUP_ANNOTATION = "rayplat.io/team-group"
TEAM_NAMESPACE_PREFIX = "team-"

# A Kubernetes label name (an optional DNS-subdomain prefix and a name) and label value.
LABEL_NAME = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
