"""The artifact store: a hardened, versioned, KMS-encrypted S3 bucket for checkpoints and artifacts."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from catalog.tagging import with_name
from components.aws import iam_documents
from components.aws.account import AwsAccount
from components.aws.keys import customer_key
from components.options import child_options


@dataclass(frozen=True)
class ArtifactStoreArgs:
    bucket_name: str | None
    force_destroy: bool
    protect: bool
    noncurrent_version_expiration_days: int
    abort_incomplete_multipart_upload_days: int
    # Administers the bucket's key (with the account root), see iam_documents.artifact_key_policy.
    admin_role_arn: str
    tags: dict[str, str]


class ArtifactStore(pulumi.ComponentResource):
    bucket: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: ArtifactStoreArgs,
        *,
        provider: aws.Provider,
        account: AwsAccount,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rayplat:aws:ArtifactStore", name, None, opts)
        child = child_options(self, provider, opts)
        # Data outlives config changes: the bucket and its key stay in the account when removed from the
        # program, unless the stack opted into disposable data; prod also refuses to delete them at all.
        stateful = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(protect=args.protect, retain_on_delete=not args.force_destroy)
        )

        bucket = aws.s3.Bucket(
            name,
            bucket=args.bucket_name,
            force_destroy=args.force_destroy,
            tags=with_name(args.tags, name),
            opts=stateful,
        )
        # The key's policy names the bucket, so the bucket comes first.
        key = customer_key(
            f"{name}-key",
            alias=f"alias/{name}",
            description="Encryption of the Ray artifact bucket",
            policy=pulumi.Output.all(account.account_id, account.partition, account.dns_suffix, bucket.arn).apply(
                lambda v: json.dumps(
                    iam_documents.artifact_key_policy(v[0], args.admin_role_arn, v[3], account.region, v[1], v[2])
                )
            ),
            tags=args.tags,
            key_opts=stateful,
            alias_opts=child,
        )

        public_access = aws.s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            name, bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": key.arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=child,
        )
        aws.s3.BucketVersioning(name, bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=child)
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                {
                    "id": "abort-incomplete-multipart-uploads",
                    "status": "Enabled",
                    "filter": {},
                    "abort_incomplete_multipart_upload": {
                        "days_after_initiation": args.abort_incomplete_multipart_upload_days
                    },
                },
                {
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_version_expiration_days},
                },
            ],
            opts=child,
        )
        aws.s3.BucketPolicy(
            name,
            bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps(iam_documents.deny_insecure_transport(arn))),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[public_access])),
        )

        self.bucket = bucket.bucket
        self.bucket_arn = bucket.arn
        self.key_arn = key.arn
        self.register_outputs({"bucket": self.bucket, "bucket_arn": self.bucket_arn, "key_arn": self.key_arn})
