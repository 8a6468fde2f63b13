"""One fresh process checking a plan file with the policy pack, as `rayplat check --plan` does without the
CLI: import the pack and the check engine, read the plan, check it. Request on stdin::

    {"plan": "/tmp/plan.json", "policy_stack": "prod"}

One JSON line on stdout: the seconds of the import, of reading the plan and of the check, and the findings.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    request = json.load(sys.stdin)
    started = time.perf_counter()
    from rayplat.check.engine import check_plan, load_policy_config, policy_config_path
    from rayplat.plan import Plan

    imported = time.perf_counter()
    plan = Plan.read(Path(request["plan"]))
    config = load_policy_config(policy_config_path(request["policy_stack"]))
    read = time.perf_counter()
    findings = len(check_plan(plan, config).findings)
    checked = time.perf_counter()
    reply = {
        "import_s": imported - started,
        "read_s": read - imported,
        "check_s": checked - read,
        "resources": len(plan.resources),
        "findings": findings,
    }
    print(json.dumps(reply))


if __name__ == "__main__":
    from rayplat.heap import short_lived_heap

    with short_lived_heap():
        main()
