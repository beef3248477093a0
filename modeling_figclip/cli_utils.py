"""Command-line parsing shared by the recipes: dataclass arguments from a YAML recipe, overridden on the command line.

    python recipes/train_figclip.py --config recipes/figclip_vitb32_vidsitu.yaml --learning_rate 5e-6

YAML values become the parser's defaults, so any flag given on the command line wins (the alignment-handbook / TRL
convention). Keys that no dataclass declares are an error that names the file and the keys — a typo in a recipe
must not be silently ignored.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import yaml
from transformers import HfArgumentParser


class RecipeError(ValueError):
    """A recipe (YAML or command line) that cannot be used; the message names the file and the offending keys."""


def load_recipe_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a recipe YAML file as a flat mapping, with clear errors for a missing file or a malformed recipe."""
    if not os.path.isfile(path):
        raise RecipeError(f"Recipe file {path} does not exist.")
    with open(path, encoding="utf-8") as handle:
        try:
            values = yaml.safe_load(handle) or {}
        except yaml.YAMLError as error:
            raise RecipeError(f"Recipe file {path} is not valid YAML: {error}") from error
    if not isinstance(values, dict):
        raise RecipeError(f"Recipe file {path} must be a mapping of field: value, got {type(values).__name__}.")
    return values


def parse_recipe_args(
    dataclass_types: Sequence[type], argv: Sequence[str] | None = None, defaults: dict[str, Any] | None = None
) -> tuple[Any, ...]:
    """Parse `argv` into instances of `dataclass_types`, reading `--config FILE.yaml` first.

    Args:
        dataclass_types: the argument dataclasses (as for `HfArgumentParser`).
        argv: command-line arguments (default: `sys.argv[1:]`).
        defaults: values used when neither the YAML nor the command line sets a field (e.g. an embedded recipe).

    Returns:
        One instance per dataclass type, plus the YAML path (or None) as the last element.
    """
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    known, remaining = pre.parse_known_args(argv)

    fields = {f.name for t in dataclass_types for f in dataclasses.fields(t) if f.init}
    values = dict(defaults or {})
    if known.config is not None:
        recipe = load_recipe_yaml(known.config)
        unknown = sorted(set(recipe) - fields)
        if unknown:
            raise RecipeError(
                f"Recipe {known.config} has unknown keys {unknown}. Valid keys: see `--help` "
                f"(e.g. {', '.join(sorted(fields)[:8])}, ...)."
            )
        values.update(recipe)

    parser = HfArgumentParser(dataclass_types)
    parser.add_argument("--config", default=None, help="YAML recipe; command-line flags override its values.")
    parser.set_defaults(**values)
    *parsed, remaining_strings = parser.parse_args_into_dataclasses(remaining, return_remaining_strings=True)
    parsed = parsed[: len(dataclass_types)]  # drop the namespace holding --config
    if remaining_strings:
        raise RecipeError(f"Unknown command-line arguments: {remaining_strings}")
    return (*parsed, known.config)
