"""The cloud-neutral kubernetes layer. It consumes a ClusterHandle and never imports a cloud SDK."""
