"""The offline plan: a stack's real program evaluated by the Pulumi SDK's mock engine."""

from rayplat.plan.engine import Plan, PlannedResource, plan_stack, run_program

__all__ = ["Plan", "PlannedResource", "plan_stack", "run_program"]
