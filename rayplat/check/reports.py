"""A check report as text (for people), JSON (for tools), SARIF 2.1.0 (code scanning) and JUnit XML (CI)."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from typing import Any

from pulumi_policy import EnforcementLevel, Policy
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from policies.rules import AREAS, Rule
from rayplat.check.engine import FAILED, PACK_VERSION, PASSED, SKIPPED, CheckReport, Finding

FORMATS = ("text", "json", "sarif", "junit")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub code scanning ranks security alerts by this property (0-10).
_SECURITY_SEVERITY = {"low": "3.0", "medium": "5.5", "high": "8.0", "critical": "9.5"}


def severity(policy: Policy) -> str:
    return policy.severity.value if policy.severity else "medium"


def area(policy: Policy) -> str:
    return (policy.tags or ["-"])[0]


def _policies(report: CheckReport) -> dict[str, Policy]:
    return {p.name: p for p in report.policies}


def to_json(report: CheckReport) -> str:
    policies = _policies(report)
    document = {
        "stack": report.stack,
        "pack": {"name": "ray-platform", "version": PACK_VERSION},
        "summary": report.summary(),
        "policies": [
            {
                "name": p.name,
                "area": area(p),
                "description": p.description,
                "severity": severity(p),
                "enforcementLevel": report.settings[p.name].level.value,
                "remediation": p.remediation_steps,
            }
            for p in report.policies
        ],
        "results": [_result(f, policies[f.policy]) for f in report.findings],
        "remediations": [_result(f, policies[f.policy]) for f in report.remediations],
    }
    return json.dumps(document, indent=2) + "\n"


def _result(finding: Finding, policy: Policy) -> dict[str, Any]:
    return {
        "policy": finding.policy,
        "status": finding.status,
        "enforcementLevel": finding.level,
        "severity": severity(policy),
        "message": finding.message,
        "resource": {"urn": finding.resource_urn, "name": finding.resource_name, "type": finding.resource_type},
    }


def to_sarif(report: CheckReport, stack_file: str) -> str:
    rules = [_sarif_rule(p, report) for p in report.policies]
    index = {p.name: i for i, p in enumerate(report.policies)}
    results = [_sarif_result(f, index, stack_file) for f in report.findings if f.status == FAILED]
    results += [
        _sarif_result(f, index, stack_file, suppressed=True)
        for f in report.findings
        if f.status == SKIPPED and f.message.startswith("exempt:")
    ]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "rayplat-check", "version": PACK_VERSION, "rules": rules}},
                "automationDetails": {"id": f"rayplat-check/{report.stack}/"},
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _sarif_level(level: str) -> str:
    return "error" if level == EnforcementLevel.MANDATORY.value else "warning"


def _sarif_rule(policy: Policy, report: CheckReport) -> dict[str, Any]:
    level = report.settings[policy.name].level
    return {
        "id": policy.name,
        "shortDescription": {"text": policy.description},
        "help": {"text": policy.remediation_steps or policy.description},
        "defaultConfiguration": {"level": "none" if level == EnforcementLevel.DISABLED else _sarif_level(level.value)},
        "properties": {"tags": [area(policy)], "security-severity": _SECURITY_SEVERITY[severity(policy)]},
    }


def _sarif_result(finding: Finding, index: dict[str, int], stack_file: str, suppressed: bool = False) -> dict:
    fingerprint = hashlib.sha256(f"{finding.policy}\n{finding.resource_urn}".encode()).hexdigest()
    result = {
        "ruleId": finding.policy,
        "ruleIndex": index[finding.policy],
        "level": _sarif_level(finding.level),
        "message": {"text": f"{finding.resource_name} ({finding.resource_type}): {finding.message}"},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {"uri": stack_file}, "region": {"startLine": 1}},
                "logicalLocations": [
                    {"name": finding.resource_name, "fullyQualifiedName": finding.resource_urn, "kind": "resource"}
                ],
            }
        ],
        "partialFingerprints": {"rayplatFinding/v1": fingerprint},
    }
    if suppressed:
        result["suppressions"] = [{"kind": "external", "justification": finding.message.removeprefix("exempt: ")}]
    return result


def to_junit(report: CheckReport) -> str:
    counts = Counter(f.status for f in report.findings)
    suites = ET.Element(
        "testsuites",
        name=f"rayplat check {report.stack}",
        tests=str(len(report.findings)),
        failures=str(counts[FAILED]),
        skipped=str(counts[SKIPPED]),
        errors="0",
    )
    for policy in report.policies:
        findings = [f for f in report.findings if f.policy == policy.name]
        by_status = Counter(f.status for f in findings)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=policy.name,
            tests=str(len(findings)),
            failures=str(by_status[FAILED]),
            skipped=str(by_status[SKIPPED]),
            errors="0",
        )
        for finding in findings:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{report.stack}.{policy.name}",
                name=f"{finding.resource_name} ({finding.resource_type})",
            )
            if finding.status == FAILED:
                failure = ET.SubElement(case, "failure", message=finding.message, type=finding.level)
                failure.text = f"{policy.description}\nRemediation: {policy.remediation_steps}"
            elif finding.status == SKIPPED:
                ET.SubElement(case, "skipped", message=finding.message)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def print_text(report: CheckReport, console: Console) -> None:
    summary = report.summary()
    console.print(
        f"[bold]Policy check of stack {escape(report.stack)}[/]: {summary['policies']} policies, "
        f"{summary[PASSED]} passed, {summary[FAILED]} failed ({summary['mandatoryFailures']} mandatory), "
        f"{summary[SKIPPED]} skipped, {summary['remediations']} remediated"
    )
    console.print(_policy_table(report))
    if line := _not_applicable_line(report):
        console.print(line, highlight=False)
    problems = [f for f in report.findings if f.status != PASSED]
    if problems:
        console.print(_problem_table(problems))


def _policy_table(report: CheckReport) -> Table:
    table = Table(title="Policies", title_justify="left")
    for column in ("policy", "area", "level", PASSED, FAILED, SKIPPED):
        table.add_column(column, justify="right" if column in (PASSED, FAILED, SKIPPED) else "left")
    for policy in _applicable(report):
        counts = Counter(f.status for f in report.findings if f.policy == policy.name)
        table.add_row(
            Text(policy.name),
            area(policy),
            report.settings[policy.name].level.value,
            str(counts[PASSED]),
            _red(counts[FAILED]),
            str(counts[SKIPPED]),
        )
    return table


def _applicable(report: CheckReport) -> list[Policy]:
    """The policies that checked something in this plan (passed, failed or skipped)."""
    checked = {f.policy for f in report.findings}
    return [p for p in report.policies if p.name in checked]


def _not_applicable_line(report: CheckReport) -> str:
    """One line for the rules with nothing to check in this plan (another cloud's, for example), by area."""
    applicable = {p.name for p in _applicable(report)}
    areas = Counter(area(p) for p in report.policies if p.name not in applicable)
    if not areas:
        return ""
    listed = ", ".join(f"{name} {count}" for name, count in sorted(areas.items()))
    return f"Not applicable (nothing in this plan they check): {sum(areas.values())} rules ({listed})"


def _problem_table(findings: list[Finding]) -> Table:
    table = Table(title="Violations and skips", title_justify="left")
    for column in ("status", "level", "policy", "resource", "message"):
        table.add_column(column)
    for f in sorted(findings, key=lambda f: (f.status, f.level != "mandatory", f.policy, f.resource_name)):
        table.add_row(*map(Text, (f.status, f.level, f.policy, f.resource_name, f.message)))
    return table


def _red(count: int) -> str:
    return f"[red]{count}[/]" if count else "0"


def catalog_markdown(policies: Sequence[Rule]) -> str:
    """The rule catalog of docs/policies.md: one row per rule, by area."""
    lines = [
        "| Rule | Area | Severity | What it requires | Remediation | Parameters | Benchmark items |",
        "|---|---|---|---|---|---|---|",
    ]
    for policy in sorted(policies, key=lambda p: (AREAS.index(area(p)), p.name)):
        schema = policy.config_schema.properties if policy.config_schema else {}
        parameters = ", ".join(f"`{k}`" for k in (schema or {}) if k != "exemptions")
        lines.append(
            f"| `{policy.name}` | {area(policy)} | {severity(policy)} | {policy.description} | "
            f"{policy.remediation_steps} | {parameters or '-'} | {'; '.join(policy.controls) or '-'} |"
        )
    return "\n".join(lines) + "\n"
