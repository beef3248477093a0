"""Train FiGCLIP adapters (LoRA on CLIP's vision q/k/v + Video Contextualizer) on VidSitu.

    accelerate launch recipes/train_figclip.py --config recipes/figclip_vitb32_vidsitu.yaml [--any_field value]

With neither `--config` nor `--vidsitu_dir` it runs the embedded default (`python recipes/train_figclip.py`): the
toy world end to end on CPU — world → base CLIP (cached) → FiGCLIP adaptation with `recipes/figclip_toy_world.yaml`
→ evaluation of both → `report.json`, a table and a chart (see `modeling_figclip.training.toy_demo`). Otherwise
unset fields take the paper's settings (see `modeling_figclip.training.arguments`).
"""

from __future__ import annotations

import logging
import os
import sys

from modeling_figclip.cli_utils import RecipeError, parse_recipe_args
from modeling_figclip.training import DataArguments, FigClipTrainingArguments, ModelArguments, TrainingSetupError, train_figclip


def main(argv: list[str] | None = None):
    argv = sys.argv[1:] if argv is None else argv
    # The embedded default applies when neither a recipe nor a VidSitu folder is given.
    given = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    embedded = not ({"--config", "--vidsitu_dir"} & given)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    if embedded:
        from modeling_figclip.training.toy_demo import run_toy_demo

        try:
            return run_toy_demo(argv)
        except (RecipeError, TrainingSetupError) as error:
            sys.exit(f"error: {error}")
    try:
        model_args, data_args, training_args, config_path = parse_recipe_args(
            (ModelArguments, DataArguments, FigClipTrainingArguments), argv
        )
    except RecipeError as error:
        sys.exit(f"error: {error}")
    training_args.recipe_path = config_path or "command line"
    try:
        result = train_figclip(model_args, data_args, training_args)
    except TrainingSetupError as error:
        sys.exit(f"error: {error}")
    if result.adapter_dir:
        print(f"Adapter, processor and model card saved to {os.path.abspath(result.adapter_dir)}")
        print({k: round(v, 2) for k, v in result.final_metrics.items()})
    return result


if __name__ == "__main__":
    main()
