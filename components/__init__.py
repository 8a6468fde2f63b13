"""Pulumi ComponentResources of the ray-platform, grouped by concern.

``aws/``, ``gcp/`` and ``existing/`` build (or adopt) the cluster and return a cloud-neutral
:class:`components.handle.ClusterHandle`; ``kubernetes/`` installs the platform onto any handle.
"""
