"""Pulumi ComponentResources of the ray-platform, grouped by concern.

``aws/`` (and later other clouds) build the cluster and return a cloud-neutral
:class:`components.handle.ClusterHandle`; ``kubernetes/`` installs the platform onto any handle.
"""
