"""The `results.json` record every evaluator returns and writes."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from typing import Any

from .bootstrap import ItemTable


@dataclass
class EvalResult:
    """One (model, task) evaluation.

    Attributes:
        task: the task name (`sugarcrepe`, `msrvtt`, ...).
        model: the model name or path that was evaluated.
        metrics: headline metrics; accuracies/recalls in percent, ranks as ranks.
        num_items: how many items the metrics were computed over (after skipping).
        settings: everything needed to reproduce the number (files, frames, prompts, tie rule, seed, ...).
        num_skipped: items dropped because of `--skip_missing` (0 otherwise: without it a problem is an error).
        details: per-group numbers, item counts per subset/split, and the first skipped items with the reason.
        confidence_intervals: metric -> `[low, high]`, the 95 % bootstrap interval over the benchmark's items (how it
            was computed is in `settings["confidence_intervals"]`); empty when the bootstrap is switched off.
        item_tables: the per-item values behind the metrics (`bootstrap.ItemTable`), kept in memory for confidence
            intervals and paired model comparisons; not written to `results.json`.
    """

    task: str
    model: str
    metrics: dict[str, Any]
    num_items: int
    settings: dict[str, Any] = field(default_factory=dict)
    num_skipped: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    confidence_intervals: dict[str, list[float]] = field(default_factory=dict)
    item_tables: list[ItemTable] = field(default_factory=list, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the in-memory `item_tables`, as plain JSON-ready values."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "item_tables"}

    def save(self, path: str) -> str:
        """Write the record as indented JSON (creating the folder)."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, indent=2, sort_keys=False, default=_json_default)
            handle.write("\n")
        return path

    @classmethod
    def load(cls, path: str) -> EvalResult:
        with open(path, encoding="utf-8") as handle:
            return cls(**json.load(handle))


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays sneak into metric dicts; JSON has no type for them.
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
