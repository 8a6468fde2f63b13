"""What a stack costs, from its offline plan: the catalogue's cost model over the plan's resources."""

from rayplat.cost.report import bill_of, print_text, to_json, to_markdown

__all__ = ["bill_of", "print_text", "to_json", "to_markdown"]
