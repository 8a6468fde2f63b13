"""The AWS cloud layer: VPC, EKS, node pools, artifact store and IRSA identities."""
