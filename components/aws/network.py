"""A VPC for EKS: a private and a public subnet per availability zone, NAT, and the EKS subnet tags."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from catalog.tagging import with_name
from components.options import child_options


@dataclass(frozen=True)
class NetworkArgs:
    cluster_name: str
    cidr: str
    availability_zones: list[str]
    nat_per_az: bool
    tags: dict[str, str]
    # Extra tags on the private subnets, where nodes run (Karpenter's discovery tag).
    private_subnet_tags: dict[str, str] = field(default_factory=dict)


def subnet_plan(cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """Split the VPC into one large private subnet per zone and one small public subnet per zone."""
    vpc = ipaddress.IPv4Network(cidr)
    blocks = list(vpc.subnets(prefixlen_diff=math.ceil(math.log2(zones + 1))))
    private = [str(b) for b in blocks[:zones]]
    public = [str(b) for b in blocks[-1].subnets(prefixlen_diff=max(1, math.ceil(math.log2(zones))))][:zones]
    return private, public


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: NetworkArgs, *, provider: aws.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rayplat:aws:Network", name, None, opts)
        child = child_options(self, provider, opts)
        tags = args.tags
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}

        vpc = aws.ec2.Vpc(
            name,
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=with_name(tags, name),
            opts=child,
        )
        igw = aws.ec2.InternetGateway(name, vpc_id=vpc.id, tags=with_name(tags, name), opts=child)
        public_routes = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            tags=with_name(tags, f"{name}-public"),
            opts=child,
        )

        private_cidrs, public_cidrs = subnet_plan(args.cidr, len(args.availability_zones))
        public_subnets, private_subnets, nats = [], [], []
        for i, zone in enumerate(args.availability_zones):
            public = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc.id,
                cidr_block=public_cidrs[i],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**with_name(tags, f"{name}-public-{zone}"), **cluster_tag, "kubernetes.io/role/elb": "1"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{zone}", subnet_id=public.id, route_table_id=public_routes.id, opts=child
            )
            public_subnets.append(public)
            if i == 0 or args.nat_per_az:
                eip = aws.ec2.Eip(
                    f"{name}-nat-{zone}", domain="vpc", tags=with_name(tags, f"{name}-nat-{zone}"), opts=child
                )
                nats.append(
                    aws.ec2.NatGateway(
                        f"{name}-{zone}",
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        tags=with_name(tags, f"{name}-{zone}"),
                        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[igw])),
                    )
                )

            private = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                cidr_block=private_cidrs[i],
                availability_zone=zone,
                tags={
                    **with_name(tags, f"{name}-private-{zone}"),
                    **cluster_tag,
                    "kubernetes.io/role/internal-elb": "1",
                    **args.private_subnet_tags,
                },
                opts=child,
            )
            routes = aws.ec2.RouteTable(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nats[-1].id}],
                tags=with_name(tags, f"{name}-private-{zone}"),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}", subnet_id=private.id, route_table_id=routes.id, opts=child
            )
            private_subnets.append(private)

        self.vpc_id = vpc.id
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets])
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public_subnets])
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "private_subnet_ids": self.private_subnet_ids,
                "public_subnet_ids": self.public_subnet_ids,
            }
        )
