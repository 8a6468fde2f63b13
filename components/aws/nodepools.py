"""EKS managed node groups on hardened launch templates, ready for cluster-autoscaler to scale from zero."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from catalog.labels import GPU_RESOURCE
from catalog.tagging import with_name
from components.nodes import PoolSpec
from components.options import child_options, require

GPU_AMI_TYPE = "AL2023_x86_64_NVIDIA"
CPU_AMI_TYPE = "AL2023_x86_64_STANDARD"
ROOT_DEVICE = "/dev/xvda"
AUTOSCALER_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
_EKS_TAINT_EFFECT = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}


@dataclass(frozen=True)
class NodePoolArgs:
    cluster_name: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    spec: PoolSpec
    spot: bool
    initial_size: int
    disk_size_gib: int
    tags: dict[str, str]


def autoscaler_template_tags(spec: PoolSpec) -> dict[str, str]:
    """The ASG tags from which cluster-autoscaler builds a node of an empty group (scale from zero)."""
    tags = {f"{AUTOSCALER_TEMPLATE}/label/{key}": value for key, value in spec.labels.items()}
    tags.update({f"{AUTOSCALER_TEMPLATE}/taint/{t['key']}": f"{t['value']}:{t['effect']}" for t in spec.taints})
    if spec.is_gpu:
        tags[f"{AUTOSCALER_TEMPLATE}/resources/{GPU_RESOURCE}"] = str(spec.gpus_per_node)
    return tags


def launch_template_tag_specifications(tags: dict[str, str]) -> list[aws.ec2.LaunchTemplateTagSpecificationArgs]:
    """Managed node group tags stop at the group: instances, volumes and ENIs are tagged here."""
    return [
        aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags)
        for kind in ("instance", "volume", "network-interface")
    ]


class NodePool(pulumi.ComponentResource):
    node_group: aws.eks.NodeGroup
    autoscaling_group_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: NodePoolArgs, *, provider: aws.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rayplat:aws:NodePool", name, None, opts)
        child = child_options(self, provider, opts)
        spec = args.spec
        instance_tags = with_name(args.tags, name)

        template = aws.ec2.LaunchTemplate(
            name,
            description=f"Nodes of the {spec.name} pool",
            update_default_version=True,
            # IMDSv2 only, and one hop: pods cannot borrow the node's role; they use IRSA.
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=ROOT_DEVICE,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=args.disk_size_gib,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            tag_specifications=launch_template_tag_specifications(instance_tags),
            tags=args.tags,
            opts=child,
        )

        self.node_group = aws.eks.NodeGroup(
            name,
            cluster_name=args.cluster_name,
            # A prefix, not a name: a replacement node group can be created before the old one is deleted.
            node_group_name_prefix=f"{spec.name}-",
            node_role_arn=args.node_role_arn,
            subnet_ids=args.subnet_ids,
            ami_type=GPU_AMI_TYPE if spec.is_gpu else CPU_AMI_TYPE,
            instance_types=spec.instance_types,
            capacity_type="SPOT" if args.spot else "ON_DEMAND",
            scaling_config={"min_size": spec.min_size, "desired_size": args.initial_size, "max_size": spec.max_size},
            update_config={"max_unavailable_percentage": 33},
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            labels=spec.labels,
            taints=[
                {"key": t["key"], "value": t["value"], "effect": _EKS_TAINT_EFFECT[t["effect"]]} for t in spec.taints
            ],
            tags=args.tags,
            # cluster-autoscaler owns the current size once the group exists.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(ignore_changes=["scalingConfig.desiredSize"])
            ),
        )

        self.autoscaling_group_name = self.node_group.resources.apply(_autoscaling_group_name)
        for key, value in autoscaler_template_tags(spec).items():
            aws.autoscaling.Tag(
                f"{name}-{key.removeprefix(AUTOSCALER_TEMPLATE + '/').replace('/', '-')}",
                autoscaling_group_name=self.autoscaling_group_name,
                tag={"key": key, "value": value, "propagate_at_launch": False},
                opts=child,
            )
        self.register_outputs(
            {"node_group": self.node_group.node_group_name, "autoscaling_group_name": self.autoscaling_group_name}
        )


def _autoscaling_group_name(resources) -> str:
    groups = resources[0].autoscaling_groups if resources else None
    return require(groups and groups[0].name, "node group Auto Scaling group name")
