"""Cloud KMS: symmetric keys rotate at least every 90 days. (Keys of protected environments must also be
protected from deletion: `stateful-resources-protected`.)"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pulumi_policy import Severity

from policies.rules import Rule, Subject, resource_rule

CRYPTO_KEY = ("gcp:kms/cryptoKey:CryptoKey",)
_DURATION = re.compile(r"^(\d+)(\.\d{1,9})?s$")
_DAY = 86400


def _rotation(subject: Subject, config) -> Iterable[str]:
    # Only symmetric encryption keys rotate automatically.
    if subject.get("purpose", default="ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
        return
    period = subject.get("rotationPeriod")
    limit = config["maxRotationDays"]
    if period is None:
        yield f"the key never rotates: set rotationPeriod to at most {limit} days ({limit * _DAY}s)"
        return
    match = _DURATION.match(str(period))
    if match is None:
        yield f"rotationPeriod {period!r} is not a duration in seconds such as '7776000s'"
    elif int(match.group(1)) > limit * _DAY:
        yield f"the key rotates every {int(match.group(1)) / _DAY:g} days, more than {limit}"


POLICIES: list[Rule] = [
    resource_rule(
        name="gcp-kms-key-rotation",
        area="gcp",
        severity=Severity.MEDIUM,
        types=CRYPTO_KEY,
        config={
            "maxRotationDays": {
                "type": "integer",
                "minimum": 1,
                "default": 90,
                "description": "The longest rotation period allowed, in days.",
            }
        },
        check=_rotation,
        description="Cloud KMS encryption keys rotate automatically at least every 90 days.",
        remediation="Set rotationPeriod, for example 7776000s (90 days); the platform's keys do.",
        controls=("CIS GCP 1.10",),
    ),
]
