"""Small helpers shared by the task modules."""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from dataset_scripts.benchmarks.common import SkipLog

from .arguments import EvaluationArguments

Item = TypeVar("Item")


def drop_failed(
    items: Sequence[Item], key: Callable[[Item], Hashable], failures: dict, skip_log: SkipLog, what: str = "item"
) -> list[Item]:
    """Remove items whose key failed to load/decode in the encoder, recording one skip per removed item."""
    if not failures:
        return list(items)
    kept = []
    for item in items:
        item_key = key(item)
        if item_key in failures:
            skip_log.reasons.append(f"{what} {item_key}: {failures[item_key]}")
        else:
            kept.append(item)
    return kept


def limit(items: Sequence[Item], args: EvaluationArguments) -> list[Item]:
    """The first `--max_items` items (all by default)."""
    return list(items[: args.max_items]) if args.max_items else list(items)


def default_dir(explicit: str | None, data_dir: str, name: str) -> str:
    return explicit if explicit else os.path.join(data_dir, name)


def base_settings(args: EvaluationArguments, **extra: Any) -> dict[str, Any]:
    """Settings every results.json records."""
    settings = {
        "data_dir": args.data_dir,
        "dtype": args.dtype,
        "batch_size": args.batch_size,
        "skip_missing": args.skip_missing,
        "max_items": args.max_items,
    }
    settings.update(extra)
    return settings


def skip_details(skip_log: SkipLog) -> dict[str, Any]:
    return {"skipped": skip_log.summary()} if skip_log.count else {}
