"""Every pinned version of the platform: Helm charts, images and managed add-ons.

Python dependencies are pinned in ``pyproject.toml``; everything the program deploys is pinned here,
and nowhere else. Bump a pin here, run the tests, and review the plan diff.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class HelmChart:
    name: str
    version: str
    repository: str


KUBERNETES_VERSION = "1.34"

RAY_VERSION = "2.60.0"
# ElastiCache engine of the Ray GCS stores (GCS fault tolerance).
VALKEY_VERSION = "8.0"
RAY_IMAGE = f"rayproject/ray:{RAY_VERSION}-py311"
RAY_GPU_IMAGE = f"rayproject/ray:{RAY_VERSION}-py311-gpu"

KUBERAY_VERSION = "1.7.0"
KUBERAY_OPERATOR = HelmChart("kuberay-operator", KUBERAY_VERSION, "https://ray-project.github.io/kuberay-helm/")
KUBERAY_OPERATOR_IMAGE = f"quay.io/kuberay/operator:v{KUBERAY_VERSION}"
# The CRDs are applied from the upstream release tag, never from a copy kept in this repository.
KUBERAY_CRD_KINDS = ("rayclusters", "rayjobs", "rayservices", "raycronjobs")
KUBERAY_CRD_URLS = tuple(
    f"https://raw.githubusercontent.com/ray-project/kuberay/v{KUBERAY_VERSION}"
    f"/ray-operator/config/crd/bases/ray.io_{kind}.yaml"
    for kind in KUBERAY_CRD_KINDS
)

NVIDIA_DEVICE_PLUGIN = HelmChart("nvidia-device-plugin", "0.18.2", "https://nvidia.github.io/k8s-device-plugin")

# For labs and local clusters without an object store: MinIO in the cluster.
MINIO = HelmChart("minio", "5.4.0", "https://charts.min.io/")
MINIO_IMAGE_TAG = "RELEASE.2024-12-18T13-15-44Z"

KUBE_PROMETHEUS_STACK = HelmChart(
    "kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts"
)
# The chart's CRD upgrade job (Helm never upgrades crds/) runs these images.
BUSYBOX_TAG = "1.37.0"
KUBECTL_TAG = "v1.34.1"
DCGM_EXPORTER = HelmChart("dcgm-exporter", "4.8.2", "https://nvidia.github.io/dcgm-exporter/helm-charts")
DCGM_EXPORTER_IMAGE_TAG = "4.5.3-4.8.2-distroless"
# OpenCost (app 1.120.1): in-cluster cost allocation, reading the platform's Prometheus.
OPENCOST = HelmChart("opencost", "2.5.17", "https://opencost.github.io/opencost-helm-chart")

# Kueue publishes its chart to an OCI registry.
KUEUE = HelmChart("kueue", "0.19.2", "oci://registry.k8s.io/kueue/charts")

CLUSTER_AUTOSCALER = HelmChart("cluster-autoscaler", "9.52.1", "https://kubernetes.github.io/autoscaler")
CLUSTER_AUTOSCALER_IMAGE_TAG = "v1.34.1"

# EKS managed add-ons. Versions are those AWS publishes for Kubernetes 1.34
# (`aws eks describe-addon-versions --kubernetes-version 1.34`).
EKS_ADDONS = {
    "vpc-cni": "v1.20.4-eksbuild.2",
    "coredns": "v1.12.4-eksbuild.1",
    "kube-proxy": "v1.34.0-eksbuild.4",
    "aws-ebs-csi-driver": "v1.51.1-eksbuild.1",
}

# The Kubernetes minor versions a stack may ask for (cluster.kubernetesVersion); KUBERNETES_VERSION is the default.
SUPPORTED_KUBERNETES_VERSIONS = ("1.32", "1.33", "1.34")

# Karpenter (the AWS provisioner of `aws.provisioner: karpenter`) publishes its chart to an OCI registry.
KARPENTER_VERSION = "1.14.0"
KARPENTER = HelmChart("karpenter", KARPENTER_VERSION, "oci://public.ecr.aws/karpenter")
KARPENTER_IMAGE = f"public.ecr.aws/karpenter/controller:{KARPENTER_VERSION}"
KARPENTER_IMAGE_DIGEST = "sha256:723130949e4cab989461ff07d1be4cd781d63515432494641b33c235f300ae23"
# The CRDs the chart ships in crds/ (which Helm never upgrades), applied from the release tag instead.
KARPENTER_CRD_FILES = (
    "karpenter.sh_nodepools",
    "karpenter.sh_nodeclaims",
    "karpenter.sh_nodeoverlays",
    "karpenter.k8s.aws_ec2nodeclasses",
    "autoscaling.x-k8s.io_capacitybuffers",
)
KARPENTER_CRD_URLS = tuple(
    f"https://raw.githubusercontent.com/aws/karpenter-provider-aws/v{KARPENTER_VERSION}/pkg/apis/crds/{name}.yaml"
    for name in KARPENTER_CRD_FILES
)
# The EKS-optimised AL2023 AMI release (Karpenter picks its NVIDIA variant for GPU types); never @latest.
KARPENTER_GPU_AMI_ALIAS = "al2023@v20250915"
