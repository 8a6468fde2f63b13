"""rayplat: the ray-platform tooling: the offline plan, the policy check, the plan diff and the runbooks."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
