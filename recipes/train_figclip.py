"""Train FiGCLIP adapters (LoRA on CLIP's vision q/k/v + Video Contextualizer) on VidSitu.

    accelerate launch recipes/train_figclip.py --config recipes/figclip_vitb32_vidsitu.yaml [--any_field value]

With neither `--config` nor `--vidsitu_dir` (however spelled: `--vidsitu-dir` and `--vidsitu_dir=DIR` count too) it
runs the embedded default (`python recipes/train_figclip.py`): the toy world end to end on CPU — world → base CLIP
(cached) → FiGCLIP adaptation with `recipes/figclip_toy_world.yaml` → evaluation of both → `report.json`, a table and
a chart (see `recipes/toy/toy_demo.py`). Data folders (`--video_dir`, `--frames_dir`, `--frame_cache`)
without `--vidsitu_dir` are an error rather than ignored by the demo. Otherwise unset fields take the paper's
settings (see `modeling_figclip.training.arguments`).

Every problem found before or while setting up the run (a refused value, a missing folder, an unwritable output
folder, an uncached Hub model while offline, a Hub upload that could not succeed) ends the script with one line
`error: …` naming the flag, and exit status 1.
"""

from __future__ import annotations

import logging
import os
import sys

from dataset_scripts.vidsitu import VidSituFormatError
from modeling_figclip.cli_utils import RecipeError, error_line, parse_recipe_args, peek_recipe_args
from modeling_figclip.training import DataArguments, FigClipTrainingArguments, ModelArguments, TrainingSetupError, train_figclip

TRAINING_ARGUMENTS = (ModelArguments, DataArguments, FigClipTrainingArguments)
# Where the frames come from: meaningless without the release they belong to.
DATA_SOURCE_FIELDS = ("video_dir", "frames_dir", "frame_cache")
# Problems the user can fix from the message alone: printed as one line, without a traceback.
USER_ERRORS = (RecipeError, TrainingSetupError, VidSituFormatError)
TOY_RECIPES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "toy")


def wants_embedded_default(argv: list[str]) -> bool:
    """True when `argv` names neither a recipe nor a VidSitu folder, decided from the parsed flags (so any spelling
    the parser accepts counts). Data folders without `--vidsitu_dir` raise `RecipeError`: the demo would ignore them."""
    given = peek_recipe_args(TRAINING_ARGUMENTS, argv)
    if given.config is not None or given.vidsitu_dir is not None:
        return False
    stray = [f"--{name}" for name in DATA_SOURCE_FIELDS if getattr(given, name) is not None]
    if stray:
        raise RecipeError(
            f"{', '.join(stray)} given without --vidsitu_dir: add --vidsitu_dir (the folder holding "
            "vidsitu_annotations/), or give neither to run the embedded toy demo."
        )
    return True


def train_from_recipe(argv: list[str]):
    """Parse the recipe (`--config` YAML + flags) and train; returns the `TrainResult`."""
    model_args, data_args, training_args, config_path = parse_recipe_args(TRAINING_ARGUMENTS, argv)
    training_args.recipe_path = config_path or "command line"
    result = train_figclip(model_args, data_args, training_args)
    if result.adapter_dir:
        print(f"Adapter, processor and model card saved to {os.path.abspath(result.adapter_dir)}")
        print({k: round(v, 2) for k, v in result.final_metrics.items()})
    return result


def main(argv: list[str] | None = None):
    """Run the embedded toy demo or a VidSitu recipe; a user error exits with one `error: …` line."""
    argv = sys.argv[1:] if argv is None else list(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    try:
        if wants_embedded_default(argv):
            sys.path.insert(0, TOY_RECIPES_DIR)  # the demo's orchestration lives beside the toy world's recipes
            from toy_demo import run_toy_demo

            return run_toy_demo(argv)
        return train_from_recipe(argv)
    except USER_ERRORS as error:
        sys.exit(error_line(error))


if __name__ == "__main__":
    main()
