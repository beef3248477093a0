"""Train FiGCLIP adapters (LoRA on CLIP's vision q/k/v + Video Contextualizer) on VidSitu.

    accelerate launch recipes/train_figclip.py --config recipes/figclip_vitb32_vidsitu.yaml [--any_field value]

With neither `--config` nor `--vidsitu_dir` it runs the embedded default: a synthetic VidSitu-format release and a
tiny CLIP, end to end on CPU in a couple of minutes (`python recipes/train_figclip.py`). Otherwise unset fields take
the paper's settings (see `modeling_figclip.training.arguments`).
"""

from __future__ import annotations

import logging
import os
import sys

from modeling_figclip.cli_utils import RecipeError, parse_recipe_args
from modeling_figclip.training import DataArguments, FigClipTrainingArguments, ModelArguments, TrainingSetupError, train_figclip
from modeling_figclip.training.embedded import EMBEDDED_RECIPE, prepare_embedded_assets


def main(argv: list[str] | None = None):
    argv = sys.argv[1:] if argv is None else argv
    # The embedded default applies when neither a recipe nor a VidSitu folder is given.
    given = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    embedded = not ({"--config", "--vidsitu_dir"} & given)
    try:
        model_args, data_args, training_args, config_path = parse_recipe_args(
            (ModelArguments, DataArguments, FigClipTrainingArguments), argv, defaults=EMBEDDED_RECIPE if embedded else None
        )
    except RecipeError as error:
        sys.exit(f"error: {error}")
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    if embedded and data_args.vidsitu_dir is None:
        from accelerate import PartialState

        state = PartialState()
        assets_root = os.path.join(training_args.output_dir, "assets")
        with state.main_process_first():
            vidsitu_dir, video_dir, base_dir = prepare_embedded_assets(
                assets_root, data_args.synthetic_num_train, data_args.synthetic_num_valid
            )
        data_args.vidsitu_dir, data_args.video_dir = vidsitu_dir, video_dir
        data_args.dataset_cache_dir = data_args.dataset_cache_dir or os.path.join(assets_root, "datasets_cache")
        if model_args.model_name_or_path == ModelArguments.model_name_or_path:
            model_args.model_name_or_path = base_dir
    training_args.recipe_path = config_path or "embedded default (no --config)"
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
