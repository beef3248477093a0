"""Shared plumbing of the benchmark readers: clear data errors, the `--skip_missing` log, JSON and image loading."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from PIL import Image


class BenchmarkDataError(ValueError):
    """A benchmark file is missing, malformed, or refers to something that does not exist.

    The message always names the file and the row/key, so the user can fix the data or pass `--skip_missing`.
    """


@dataclass
class SkipLog:
    """Collects the items a reader or encoder could not use.

    With `skip_missing=False` (the default) the first problem raises `BenchmarkDataError`; with `True` it is recorded
    and the item is dropped, and `count`/`summary()` end up in `results.json` so a run never claims more items than it
    scored.
    """

    skip_missing: bool = False
    reasons: list[str] = field(default_factory=list)

    def problem(self, message: str) -> None:
        """Raise `message` as a `BenchmarkDataError`, or record it when skipping is allowed."""
        if not self.skip_missing:
            raise BenchmarkDataError(
                message + " (pass --skip_missing to skip such items and report how many were skipped)"
            )
        self.reasons.append(message)

    @property
    def count(self) -> int:
        return len(self.reasons)

    def summary(self, max_examples: int = 20) -> dict[str, Any]:
        return {"num_skipped": self.count, "examples": self.reasons[:max_examples]}


def load_json(path: str) -> Any:
    """`json.load` with errors that name the file (and the line/column of a syntax error)."""
    if not os.path.isfile(path):
        raise BenchmarkDataError(f"{path}: file not found.")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise BenchmarkDataError(
            f"{path}: malformed JSON at line {error.lineno}, column {error.colno}: {error.msg}."
        ) from error


def find_file(directory: str, candidates: tuple[str, ...]) -> str | None:
    """The first of `candidates` (paths relative to `directory`) that exists, else None."""
    for candidate in candidates:
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def load_rgb_image(path: str, crop_box: tuple[float, float, float, float] | None = None) -> Image.Image:
    """Open an image as RGB, optionally cropped to `(left, upper, right, lower)` as ARO does (PIL pads outside)."""
    with Image.open(path) as image:
        image = image.convert("RGB")
    if crop_box is not None:
        image = image.crop(crop_box)
    return image


def is_nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
