"""The GCP cloud layer: VPC-native GKE Standard, GPU node pools, GCS, Workload Identity."""
