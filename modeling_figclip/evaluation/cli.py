"""Argument parsing for `recipes/evaluate_figclip.py`: `HfArgumentParser` + an optional `--config` YAML.

Precedence: command line > `--config` YAML > dataclass defaults. Unknown YAML keys are an error that lists them (a
typo must not silently fall back to a default).
"""

from __future__ import annotations

import argparse
import difflib
import os
from collections.abc import Sequence
from typing import Any, Optional

import yaml
from transformers import HfArgumentParser

from .arguments import ARGUMENT_NAMES, EvaluationArguments


def read_yaml_config(path: str) -> dict[str, Any]:
    """Load a YAML mapping of `EvaluationArguments` fields, rejecting unknown keys with a suggestion."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--config {path}: file not found.")
    with open(path, encoding="utf-8") as handle:
        values = yaml.safe_load(handle) or {}
    if not isinstance(values, dict):
        raise ValueError(f"--config {path}: expected a mapping of argument names to values, got {type(values).__name__}.")
    unknown = sorted(set(values) - ARGUMENT_NAMES)
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, sorted(ARGUMENT_NAMES), n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ValueError(f"--config {path}: unknown key(s) {', '.join(hints)}. Valid keys: {sorted(ARGUMENT_NAMES)}.")
    return values


def parse_args(argv: Optional[Sequence[str]] = None) -> EvaluationArguments:
    """Parse `argv` (default `sys.argv[1:]`) into `EvaluationArguments`, applying `--config` first."""
    parser = HfArgumentParser(EvaluationArguments)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    known, _ = pre.parse_known_args(argv)
    if known.config:
        parser.set_defaults(**read_yaml_config(known.config))
    (args,) = parser.parse_args_into_dataclasses(args=list(argv) if argv is not None else None)
    return args
