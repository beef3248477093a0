"""Argument parsing for `recipes/evaluate_figclip.py`, shared with the other recipes (`modeling_figclip.cli_utils`).

Precedence: command line > `--config` YAML > dataclass defaults. Unknown YAML keys and unknown flags are errors
that name them (a typo must not silently fall back to a default).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..cli_utils import parse_recipe_args
from .arguments import EvaluationArguments


def parse_args(argv: Sequence[str] | None = None) -> EvaluationArguments:
    """Parse `argv` (default `sys.argv[1:]`) into `EvaluationArguments`, applying `--config` first."""
    args, config = parse_recipe_args([EvaluationArguments], argv)
    args.config = config
    return args
