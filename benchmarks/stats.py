"""Least-squares line through measured points."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Fit:
    slope: float
    intercept: float
    r_squared: float


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> Fit:
    slope, intercept = statistics.linear_regression(xs, ys)
    return Fit(slope=slope, intercept=intercept, r_squared=statistics.correlation(xs, ys) ** 2)
