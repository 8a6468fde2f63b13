"""Observability: kube-prometheus-stack, Ray's own dashboards, GPU metrics, and alerts with runbooks."""
