"""rayplat: the ray-platform tooling (offline plan, and later check, diff, cost, runbooks)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
