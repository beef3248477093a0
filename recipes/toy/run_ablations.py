#!/usr/bin/env python
"""Which FiGCLIP component buys what, in the toy world: the full toy recipe and the shipped ablation recipes.

    python recipes/toy/run_ablations.py [--ablations no_hard_negatives,no_contextualizer,clip_level_losses_only]
                                        [--output_dir outputs/figclip-toy-world-ablations] [--full_run DIR]
                                        [--seeds 0,1,2] [any FiGCLIP flag ...]

Every run adapts the same cached world and base CLIP (see `recipes/train_figclip.py`'s embedded default) with
`recipes/figclip_toy_world.yaml` plus what `recipes/ablations/{name}.yaml` changes relative to the paper recipe
(`toy_demo.ablation_overrides`, beside this script), is scored by the same evaluators, and lands in one table:
`{output_dir}/ablations.md` and `ablations.json` (each run's own report is in `{output_dir}/{name}/`). With
`--seeds`, every run (the full recipe and each ablation) is adapted once per seed; the tables give each number with
its 95 % bootstrap interval, its paired difference to the base CLIP and to the full recipe, and the spread over seeds.
"""

from __future__ import annotations

import argparse
import logging
import sys

from modeling_figclip.cli_utils import RecipeError
from modeling_figclip.training import TrainingSetupError
from toy_demo import DEFAULT_ABLATIONS, available_ablations, run_toy_ablations  # beside this script


def main(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--ablations", default=",".join(DEFAULT_ABLATIONS),
                        help=f"comma-separated, from: {', '.join(available_ablations())}")
    parser.add_argument("--output_dir", default="outputs/figclip-toy-world-ablations")
    parser.add_argument("--full_run", default=None, metavar="DIR",
                        help="take the full-recipe row from this earlier toy run (e.g. outputs/figclip-toy-world, "
                             "what `python recipes/train_figclip.py` writes) if it ran the same recipe, world and "
                             "base, instead of training it again")
    parser.add_argument("--seeds", default=None,
                        help="FiGCLIP adaptation seeds for every run, e.g. 0,1,2 (default: the recipe's seed); world "
                             "and base stay the same")
    args, figclip_argv = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.seeds is not None:
        figclip_argv = [*figclip_argv, "--seeds", args.seeds]
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    names = [name.strip() for name in args.ablations.split(",") if name.strip()]
    try:
        return run_toy_ablations(names, figclip_argv, output_dir=args.output_dir, full_run_dir=args.full_run)
    except (RecipeError, TrainingSetupError) as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
