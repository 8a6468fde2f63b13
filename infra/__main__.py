"""Pulumi entry point (``main: infra/``). Thin on purpose: the program lives in ``infra.platform``."""

import sys
from pathlib import Path

# `pulumi up` runs this file as a script from infra/: make the project's packages importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.platform import build_platform  # noqa: E402
from stackconfig.loading import load_config  # noqa: E402

build_platform(load_config())
