"""Bring your own cluster: the kubernetes layer on a cluster that already exists (on-prem, kind, any cloud)."""
