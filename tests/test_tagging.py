"""Every taggable AWS resource carries the stack's cost tags; so do instances and volumes."""

from __future__ import annotations

import json

from catalog.provider_types import is_taggable
from catalog.tagging import REQUIRED_COST_TAGS
from tests.conftest import config_tags


def test_every_taggable_resource_carries_the_cost_tags(plan):
    expected = {k: config_tags(plan.stack)[k] for k in REQUIRED_COST_TAGS}
    taggable = [r for r in plan.resources if r.custom and is_taggable(r.type)]
    assert len(taggable) > 20
    for r in taggable:
        tags = r.inputs.get("tags", {})
        assert {k: tags.get(k) for k in REQUIRED_COST_TAGS} == expected, f"{r.type} {r.name}"


def test_the_aws_provider_sets_default_tags(plan):
    provider = plan.of_type("pulumi:providers:aws")[0]
    # Provider inputs reach the engine as JSON strings.
    default_tags = json.loads(provider.inputs["defaultTags"])
    assert default_tags["tags"] == config_tags(plan.stack)


def test_instances_volumes_and_interfaces_are_tagged_by_the_launch_template(plan):
    expected = config_tags(plan.stack)
    for template in plan.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        specs = {s["resourceType"]: s["tags"] for s in template.inputs["tagSpecifications"]}
        assert set(specs) == {"instance", "volume", "network-interface"}
        for tags in specs.values():
            assert expected.items() <= tags.items()
            assert tags["Name"] == template.name


def test_untaggable_types_are_recognised():
    assert is_taggable("aws:s3/bucket:Bucket")
    assert not is_taggable("aws:s3/bucketPolicy:BucketPolicy")
    assert not is_taggable("kubernetes:core/v1:Namespace")
