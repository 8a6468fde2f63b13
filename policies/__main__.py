"""The policy pack's entry point for `pulumi preview --policy-pack policies`. It only builds the pack:
`PolicyPack` starts the analyzer's gRPC server and never returns, so the rules live in importable modules."""

import sys
from pathlib import Path

# Run as a script from policies/: put the project root first, and policies/ itself off the path
# (its modules, such as kubernetes.py, must not shadow installed packages).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from pulumi_policy import EnforcementLevel, Policy, PolicyPack  # noqa: E402

from policies import ALL_POLICIES, PACK_NAME  # noqa: E402

PolicyPack(name=PACK_NAME, policies=list[Policy](ALL_POLICIES), enforcement_level=EnforcementLevel.ADVISORY)
