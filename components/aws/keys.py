"""Customer-managed KMS keys: rotating, with the longest deletion window, an explicit policy and an alias."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from catalog.tagging import with_name

# KMS's longest: a key scheduled for deletion by mistake can be recovered for 30 days.
KEY_DELETION_WINDOW_DAYS = 30


def customer_key(
    name: str,
    *,
    alias: str,
    description: str,
    policy: pulumi.Input[str],
    tags: dict[str, str],
    key_opts: pulumi.ResourceOptions,
    alias_opts: pulumi.ResourceOptions,
) -> aws.kms.Key:
    """A key and its alias ``alias``, both named ``name``; ``policy`` is the key policy as JSON."""
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
        policy=policy,
        tags=with_name(tags, name),
        opts=key_opts,
    )
    aws.kms.Alias(name, name=alias, target_key_id=key.key_id, opts=alias_opts)
    return key
