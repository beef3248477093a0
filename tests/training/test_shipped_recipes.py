"""Every shipped recipe and Accelerate config parses (no unknown keys, valid values)."""

import glob
import os

import pytest
import yaml

from modeling_figclip.cli_utils import parse_recipe_args
from modeling_figclip.training import DataArguments, FigClipTrainingArguments, ModelArguments

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = sorted(glob.glob(os.path.join(REPO, "recipes", "figclip_vit*.yaml")) + glob.glob(os.path.join(REPO, "recipes", "ablations", "*.yaml")))
TOY_RECIPE = os.path.join(REPO, "recipes", "figclip_toy_world.yaml")


@pytest.mark.parametrize("path", RECIPES, ids=os.path.basename)
def test_recipe_parses_with_paper_settings(path):
    model_args, data_args, training_args, config = parse_recipe_args(
        (ModelArguments, DataArguments, FigClipTrainingArguments), ["--config", path, "--learning_rate", "2e-6"]
    )
    assert config == path and training_args.learning_rate == 2e-6  # the command line overrides the recipe
    assert model_args.lora_r == 64 and data_args.frames_per_event == 4 and training_args.per_device_train_batch_size == 20
    assert training_args.num_train_epochs == 40 and model_args.video_loss_weight == 0.25


def test_toy_world_recipe_keeps_the_method_and_parses():
    model_args, data_args, training_args, _ = parse_recipe_args(
        (ModelArguments, DataArguments, FigClipTrainingArguments), ["--config", TOY_RECIPE]
    )
    assert model_args.lora_targets == "vision_qkv" and model_args.freeze_text_encoder and model_args.use_contextualizer
    assert data_args.num_hard_negatives == 4 and data_args.frames_per_event == 4 and model_args.video_loss_weight == 0.25
    assert training_args.per_device_train_batch_size == 20


def test_paper_recipes_cover_three_backbones_and_ablations():
    names = {os.path.basename(p) for p in RECIPES}
    assert {"figclip_vitb32_vidsitu.yaml", "figclip_vitb16_vidsitu.yaml", "figclip_vitl14_vidsitu.yaml"} <= names
    ablations = {os.path.basename(p)[:-5] for p in RECIPES if "/ablations/" in p}
    assert {"no_contextualizer", "no_hard_negatives", "clip_level_losses_only", "lora_all_linear", "tuned_text_encoder"} <= ablations


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(REPO, "recipes", "accelerate_configs", "*.yaml"))), ids=os.path.basename)
def test_accelerate_configs_load(path):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(path)
    assert config.num_processes >= 1 and config.mixed_precision in {"no", "bf16", "fp16"}
    assert yaml.safe_load(open(path))["compute_environment"] == "LOCAL_MACHINE"
