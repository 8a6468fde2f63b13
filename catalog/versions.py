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
# Memorystore for Redis version of the Ray GCS stores on GCP.
MEMORYSTORE_REDIS_VERSION = "REDIS_7_2"
# The Ray images every RayCluster, RayJob and RayService of the platform runs (CPU, and CUDA for GPU workers),
# from Docker Hub or, where the stack mirrors them (images.mirror), through the cloud's pull-through cache.
RAY_IMAGE_REPOSITORY = "rayproject/ray"
RAY_IMAGE = f"{RAY_IMAGE_REPOSITORY}:{RAY_VERSION}-py311"
RAY_GPU_IMAGE = f"{RAY_IMAGE_REPOSITORY}:{RAY_VERSION}-py311-gpu"
# The upstream registry of the Ray images, which a pull-through cache mirrors.
DOCKER_HUB = "registry-1.docker.io"


def ray_image(gpu: bool, mirror: str | None = None) -> str:
    """The Ray image (CUDA for ``gpu``), pulled from ``mirror`` (a registry and path prefix) where given."""
    image = RAY_GPU_IMAGE if gpu else RAY_IMAGE
    return f"{mirror.rstrip('/')}/{image}" if mirror else image


# The notebook image: the CPU Ray image with JupyterLab, built by the team from docs/examples/notebook/Dockerfile
# (Ray publishes no Jupyter variant of rayproject/ray) and pushed under this tag to the team's registry.
JUPYTERLAB_VERSION = "4.6.6"
NOTEBOOK_IMAGE_TAG = f"{RAY_VERSION}-py311-jupyterlab{JUPYTERLAB_VERSION}"


# The MLflow client the example jobs install through their runtime environment (the Ray images lack it);
# the same pin as pyproject.toml's dev extra, which the tests run the examples with.
MLFLOW_CLIENT = "mlflow-skinny==3.18.0"

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

# The AWS Load Balancer Controller (app v3.5.0): the controller that serves the platform's Ingresses on EKS
# with internal ALBs (access.ingress). Its IAM policy is components/aws/load_balancer.py's, narrowed from
# upstream docs/install/iam_policy.json at the same version.
AWS_LOAD_BALANCER_CONTROLLER = HelmChart("aws-load-balancer-controller", "3.5.0", "https://aws.github.io/eks-charts")
AWS_LOAD_BALANCER_CONTROLLER_VERSION = "v3.5.0"
# oauth2-proxy: the SSO login and the group check in front of each team's Ray dashboard and of Grafana.
OAUTH2_PROXY_IMAGE = "quay.io/oauth2-proxy/oauth2-proxy:v7.15.3"

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

# The MLflow tracking server (tracking.mlflow): the official image's "-full" variant, which carries the
# PostgreSQL drivers and the S3 and GCS artifact clients (the plain image has neither). Same release as the
# mlflow-skinny client the examples use.
MLFLOW_VERSION = "3.18.0"
MLFLOW_IMAGE = f"ghcr.io/mlflow/mlflow:v{MLFLOW_VERSION}-full"
# Its database: RDS and Cloud SQL PostgreSQL (major version; minor versions upgrade in maintenance windows),
# or, in dev and local only, the official PostgreSQL image in the cluster.
POSTGRES_MAJOR_VERSION = "17"
CLOUD_SQL_POSTGRES_VERSION = f"POSTGRES_{POSTGRES_MAJOR_VERSION}"
POSTGRES_IMAGE = "docker.io/library/postgres:17.6-bookworm"
