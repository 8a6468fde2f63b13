"""The artifact store on GCS: uniform access, public access prevention, versioning, lifecycle, optional CMEK."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.options import child_options


@dataclass(frozen=True)
class GcsArtifactStoreArgs:
    bucket_name: str | None
    location: str
    force_destroy: bool
    protect: bool
    kms_key: str | None
    noncurrent_version_expiration_days: int
    abort_incomplete_multipart_upload_days: int
    labels: dict[str, str]


class GcsArtifactStore(pulumi.ComponentResource):
    bucket: gcp.storage.Bucket

    def __init__(
        self,
        name: str,
        args: GcsArtifactStoreArgs,
        *,
        provider: gcp.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rayplat:gcp:ArtifactStore", name, None, opts)
        # As on AWS: the data outlives its removal from the program unless the stack chose disposable data.
        stateful = pulumi.ResourceOptions.merge(
            child_options(self, provider, opts),
            pulumi.ResourceOptions(protect=args.protect, retain_on_delete=not args.force_destroy),
        )
        self.bucket = gcp.storage.Bucket(
            name,
            name=args.bucket_name,
            location=args.location,
            force_destroy=args.force_destroy,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            encryption=gcp.storage.BucketEncryptionArgs(default_kms_key_name=args.kms_key) if args.kms_key else None,
            lifecycle_rules=[
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="AbortIncompleteMultipartUpload"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                        age=args.abort_incomplete_multipart_upload_days
                    ),
                ),
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                        days_since_noncurrent_time=args.noncurrent_version_expiration_days, with_state="ARCHIVED"
                    ),
                ),
            ],
            labels=args.labels,
            opts=stateful,
        )
        self.register_outputs({"bucket": self.bucket.name})
