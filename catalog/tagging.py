"""Cost tags: one set of keys (OpenCost's) on cloud resources and Kubernetes objects alike.

The same values on an EC2 instance and on the namespace whose pods run on it let cluster costs
(OpenCost) and cloud costs (Cost Explorer) be joined per team.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

REQUIRED_COST_TAGS = ("team", "env", "owner", "department", "app")

_AWS_TAG_CHARS = re.compile(r"^[\w .:/=+\-@]*$", re.UNICODE)
AWS_TAG_KEY_MAX = 128
AWS_TAG_VALUE_MAX = 256
AWS_MAX_TAGS = 50
# GCP labels: lowercase letters, digits, '_' and '-'; a key starts with a letter.
GCP_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
GCP_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
# Tags the platform adds to some resources (Name, and the EKS subnet tags), within AWS's limit.
PLATFORM_TAGS = 3


def aws_tag_problems(tags: Mapping[str, str]) -> Iterable[tuple[str, str]]:
    """(key, message) for every tag that AWS would refuse."""
    if len(tags) > AWS_MAX_TAGS - PLATFORM_TAGS:
        yield (
            "",
            (
                f"at most {AWS_MAX_TAGS - PLATFORM_TAGS} tags ({len(tags)} given): "
                f"AWS allows {AWS_MAX_TAGS} per resource and the platform adds up to {PLATFORM_TAGS}"
            ),
        )
    for key, value in tags.items():
        if not 1 <= len(key) <= AWS_TAG_KEY_MAX:
            yield key, f"tag keys are 1 to {AWS_TAG_KEY_MAX} characters"
        if key.lower().startswith("aws:"):
            yield key, "the 'aws:' prefix is reserved by AWS"
        if not _AWS_TAG_CHARS.match(key):
            yield key, "tag keys may hold letters, digits, spaces and _ . : / = + - @ only"
        if len(value) > AWS_TAG_VALUE_MAX:
            yield key, f"tag values are at most {AWS_TAG_VALUE_MAX} characters"
        if not _AWS_TAG_CHARS.match(value):
            yield key, f"value '{value}' may hold letters, digits, spaces and _ . : / = + - @ only"


def with_name(tags: Mapping[str, str], name: str) -> dict[str, str]:
    """The cost tags plus the ``Name`` tag the AWS console shows."""
    return {**tags, "Name": name}


def cost_labels(tags: Mapping[str, str]) -> dict[str, str]:
    """The OpenCost label subset of the cost tags, for Kubernetes objects."""
    return {key: tags[key] for key in REQUIRED_COST_TAGS}
