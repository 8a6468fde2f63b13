"""A VPC for GKE: one subnet with secondary ranges for pods and services, and Cloud NAT for private nodes."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.options import child_options


@dataclass(frozen=True)
class GcpNetworkArgs:
    region: str
    subnet_cidr: str
    pods_cidr: str
    services_cidr: str
    # The proxy-only subnet of internal Application Load Balancers, and the pod ports its proxies may reach
    # (GKE's ingress controller opens none from it); None: no such load balancer.
    proxy_only_cidr: str | None = None
    proxy_ports: tuple[int, ...] = ()


PODS_RANGE = "pods"
SERVICES_RANGE = "services"


class GcpNetwork(pulumi.ComponentResource):
    network: gcp.compute.Network
    subnetwork: gcp.compute.Subnetwork

    def __init__(
        self, name: str, args: GcpNetworkArgs, *, provider: gcp.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rayplat:gcp:Network", name, None, opts)
        child = child_options(self, provider, opts)
        self.network = gcp.compute.Network(name, auto_create_subnetworks=False, routing_mode="REGIONAL", opts=child)
        self.subnetwork = gcp.compute.Subnetwork(
            name,
            network=self.network.id,
            region=args.region,
            ip_cidr_range=args.subnet_cidr,
            private_ip_google_access=True,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=PODS_RANGE, ip_cidr_range=args.pods_cidr),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=SERVICES_RANGE, ip_cidr_range=args.services_cidr),
            ],
            log_config=gcp.compute.SubnetworkLogConfigArgs(aggregation_interval="INTERVAL_5_MIN", flow_sampling=0.5),
            opts=child,
        )
        router = gcp.compute.Router(name, network=self.network.id, region=args.region, opts=child)
        # Private nodes reach image registries and APIs outside Google through NAT only.
        gcp.compute.RouterNat(
            name,
            router=router.name,
            region=args.region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=child,
        )
        if args.proxy_only_cidr is not None:
            self._proxy_only(name, args.proxy_only_cidr, args, child)
        self.register_outputs({"network": self.network.id, "subnetwork": self.subnetwork.id})

    def _proxy_only(self, name: str, cidr: str, args: GcpNetworkArgs, opts: pulumi.ResourceOptions) -> None:
        gcp.compute.Subnetwork(
            f"{name}-proxy-only",
            network=self.network.id,
            region=args.region,
            ip_cidr_range=cidr,
            purpose="REGIONAL_MANAGED_PROXY",
            role="ACTIVE",
            opts=opts,
        )
        gcp.compute.Firewall(
            f"{name}-proxy-only",
            network=self.network.id,
            direction="INGRESS",
            source_ranges=[cidr],
            allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=[str(p) for p in args.proxy_ports])],
            log_config=gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
            opts=opts,
        )
