"""What a benchmark returns: one figure for eventry, one for its baseline measured in the same
run, their ratio, and the goal the ratio is read against (issue 13's table)."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

GOAL_OPERATORS = {">=": operator.ge, "<=": operator.le, "<": operator.lt, ">": operator.gt}


@dataclass
class Pair:
    name: str
    ratio: float | None
    subject: float | None
    baseline: float | None
    unit: str  # of subject and baseline
    goal: tuple[str, float]  # e.g. (">=", 0.6): the ratio meets the goal when ``ratio >= 0.6``
    ratio_means: str = "eventry / baseline"
    details: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # further figures, kept in the JSON
    error: str | None = None  # the benchmark failed: no figures

    @property
    def met(self) -> bool | None:
        if self.ratio is None:
            return None
        op, value = self.goal
        return bool(GOAL_OPERATORS[op](self.ratio, value))

    def as_json(self) -> dict[str, Any]:
        return {
            "ratio": _round(self.ratio),
            "subject": _round(self.subject),
            "baseline": _round(self.baseline),
            "unit": self.unit,
            "ratio_means": self.ratio_means,
            "goal": f"{self.goal[0]} {self.goal[1]:g}",
            "met": self.met,
            **({"error": self.error} if self.error else {}),
            **{k: _round(v) if isinstance(v, float) else v for k, v in self.extra.items()},
        }

    def render(self) -> str:
        """The figures a person reads: a summary line, then the details."""
        if self.error:
            return f"{self.name}: failed: {self.error}"
        head = (
            f"{self.name}: ratio {_fmt(self.ratio)} ({self.ratio_means}; goal {self.goal[0]} "
            f"{self.goal[1]:g}): eventry {_fmt(self.subject)} {self.unit}, baseline "
            f"{_fmt(self.baseline)} {self.unit}"
        )
        return "\n".join([head, *(f"  {line}" for line in self.details)])


def failed(name: str, unit: str, goal: tuple[str, float], error: str) -> Pair:
    return Pair(name, None, None, None, unit, goal, error=error)


def table(pairs: list[Pair]) -> str:
    rows = [("benchmark", "ratio", "goal", "met", "eventry", "baseline", "unit")]
    for p in pairs:
        met = "-" if p.met is None else ("yes" if p.met else "no")
        goal = f"{p.goal[0]} {p.goal[1]:g}"
        rows.append((p.name, _fmt(p.ratio), goal, met, _fmt(p.subject), _fmt(p.baseline), p.unit))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:  # names and units to the left, figures to the right
        cells = zip(row, widths, strict=True)
        lines.append("  ".join(c.ljust(w) if i in (0, 6) else c.rjust(w) for i, (c, w) in enumerate(cells)))
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.4g}")


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
