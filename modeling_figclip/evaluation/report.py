"""Rendering numbers with their confidence intervals: the one table-cell format and the one bar chart that the
evaluation suite and the toy-world report both use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Interval = Sequence[float]


def format_with_interval(value: float | None, interval: Interval | None = None, signed: bool = False) -> str:
    """`57.5 [55.1, 59.9]` (one decimal: the intervals show that more would be noise); `–` when missing."""
    if value is None:
        return "–"
    spec = "+.1f" if signed else ".1f"
    text = format(value, spec)
    return f"{text} [{format(interval[0], spec)}, {format(interval[1], spec)}]" if interval else text


def grouped_bar_chart(
    path: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], Sequence[Interval | None]]],
    title: str,
    decorate: Callable[[Any, np.ndarray, float], None] | None = None,
    figsize: tuple[float, float] | None = None,
) -> str:
    """Grouped bars, one group per label and one bar per series, with 95 % intervals as error bars, in percent.

    Args:
        path: where to save the PNG.
        labels: the groups (x axis).
        series: ``(name, heights, intervals)`` per bar series; a missing interval draws no error bar.
        title: the chart's title.
        decorate: called as ``decorate(axis, group_centres, bar_width)`` to add markers (chance levels, references,
            per-seed dots) before the legend is drawn.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    centres = np.arange(len(labels))
    width = 0.8 / max(1, len(series))
    figure, axis = plt.subplots(figsize=figsize or (max(7.0, 1.1 * len(labels)), 4.5))
    for index, (name, heights, intervals) in enumerate(series):
        heights = np.asarray(heights, dtype=float)
        errors = np.array([[h - i[0], i[1] - h] if i else [0.0, 0.0] for h, i in zip(heights, intervals)]).T
        axis.bar(centres - 0.4 + width * (index + 0.5), heights, width, yerr=errors.clip(min=0.0), capsize=2, label=name)
    if decorate is not None:
        decorate(axis, centres, width)
    axis.set_xticks(list(centres))
    axis.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    axis.set_ylabel("%")
    axis.set_ylim(0, 100)
    axis.set_title(title)
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
