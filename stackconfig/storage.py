"""The artifact bucket."""

from __future__ import annotations

from pydantic import Field

from stackconfig.base import ConfigModel


class StorageConfig(ConfigModel):
    bucket_name: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    force_destroy: bool = False
    noncurrent_version_expiration_days: int = Field(default=30, ge=1)
    abort_incomplete_multipart_upload_days: int = Field(default=7, ge=1)
