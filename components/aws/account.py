"""The account, partition and region the AWS layer deploys into: key policies name them."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class AwsAccount:
    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]
    # amazonaws.com, or amazonaws.com.cn in China: service principals such as logs.<region>.<suffix>.
    dns_suffix: pulumi.Output[str]
    region: str

    @staticmethod
    def of(provider: aws.Provider, region: str) -> AwsAccount:
        """The account of the provider's credentials."""
        invoke = pulumi.InvokeOutputOptions(provider=provider)
        caller = aws.get_caller_identity_output(opts=invoke)
        partition = aws.get_partition_output(opts=invoke)
        return AwsAccount(caller.account_id, partition.partition, partition.dns_suffix, region)
