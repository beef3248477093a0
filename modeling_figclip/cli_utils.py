"""Command-line parsing shared by the recipes: dataclass arguments from a YAML recipe, overridden on the command line.

    python recipes/train_figclip.py --config recipes/figclip_vitb32_vidsitu.yaml --learning_rate 5e-6

YAML values become the parser's defaults, so any flag given on the command line wins (the alignment-handbook / TRL
convention). Keys that no dataclass declares are an error that names the file and the keys — a typo in a recipe
must not be silently ignored. Every problem with the arguments (an unknown flag, a value of the wrong type, a value
the dataclasses' `__post_init__` refuses) is a `RecipeError` whose message the recipes print as one `error: …` line.
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


def error_line(error: BaseException) -> str:
    """`error: <message>` on one line, as the recipes print a problem the user can fix (no traceback)."""
    message = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return f"error: {message or type(error).__name__}"


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


class RecipeArgumentParser(HfArgumentParser):
    """`HfArgumentParser` whose usage errors raise `RecipeError` instead of printing the (very long) usage and exiting,
    so that the recipes report them in one line like every other problem, and whose `--help` shows help texts
    verbatim."""

    def error(self, message: str):  # argparse's hook for every usage error
        raise RecipeError(f"{message} (see --help)")

    def add_argument(self, *args: Any, **kwargs: Any):
        """Help texts are plain text: a literal `%` (as in `{clip_id}_%06d.jpg`) must not break `--help`, which
        argparse %-formats."""
        if isinstance(kwargs.get("help"), str):
            kwargs["help"] = kwargs["help"].replace("%", "%%")
        return super().add_argument(*args, **kwargs)


def recipe_parser(dataclass_types: Sequence[type]) -> RecipeArgumentParser:
    """The parser of the recipes: every dataclass field as `--field_name` (or `--field-name`), plus `--config`."""
    parser = RecipeArgumentParser(dataclass_types)
    parser.add_argument("--config", default=None, help="YAML recipe; command-line flags override its values.")
    return parser


def peek_recipe_args(dataclass_types: Sequence[type], argv: Sequence[str]) -> argparse.Namespace:
    """The values `argv` gives on the command line, however spelled (`--vidsitu-dir X`, `--vidsitu_dir=X`), without
    reading the YAML, building the dataclasses or validating them; flags the dataclasses do not declare are ignored.
    Unset fields hold their dataclass defaults, `config` the `--config` path or None."""
    namespace, _ = recipe_parser(dataclass_types).parse_known_args(list(argv))
    return namespace


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

    parser = recipe_parser(dataclass_types)
    parser.set_defaults(**values)
    try:
        *parsed, remaining_strings = parser.parse_args_into_dataclasses(remaining, return_remaining_strings=True)
    except ValueError as error:  # a value refused by a dataclass's __post_init__
        if isinstance(error, RecipeError):
            raise
        raise RecipeError(str(error)) from error
    parsed = parsed[: len(dataclass_types)]  # drop the namespace holding --config
    if remaining_strings:
        raise RecipeError(f"Unknown command-line arguments: {remaining_strings} (see --help)")
    return (*parsed, known.config)
