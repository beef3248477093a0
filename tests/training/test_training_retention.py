"""Retention options in the training loop (not in the paper): distillation to the frozen base and replay of generic
image–caption pairs — logged, recorded, resumable, and refused with a clear message when misconfigured."""

import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from training_assets import small_run_args
from modeling_figclip.cli_utils import parse_recipe_args
from modeling_figclip.training import DataArguments, FigClipTrainingArguments, ModelArguments
from modeling_figclip.training.arguments import run_identity
from modeling_figclip.training.replay import GenericDatasetError, GenericPairs, load_generic_dataset

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "recipes"))
import train_figclip  # noqa: E402

RETENTION_RECIPES = sorted(glob.glob(os.path.join(REPO, "recipes", "retention", "*.yaml")))
WORDS = "a man woman dog runs walks talks street park red blue big small".split()


def run(argv):
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    return train_figclip.main(argv)


@pytest.fixture(scope="module")
def generic_dataset(tmp_path_factory):
    """A saved `datasets` dataset of 16 coloured 40×40 images with short captions (image, text columns)."""
    import datasets
    from PIL import Image

    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, size=(40, 40, 3), dtype=np.uint8)) for _ in range(16)]
    captions = [" ".join(rng.choice(WORDS, size=4)) for _ in range(16)]
    dataset = datasets.Dataset.from_dict({"image": images, "text": captions}).cast_column("image", datasets.Image())
    path = tmp_path_factory.mktemp("generic") / "pairs"
    dataset.save_to_disk(str(path))
    return str(path)


def records(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


# ------------------------------------------------------------------------------------------------ replay draws
class _Tokenizer:
    model_max_length = 77


def test_replay_draws_are_a_function_of_seed_and_draw_and_processes_split_the_global_batch(generic_dataset):
    dataset = load_generic_dataset(generic_dataset)
    pairs = GenericPairs(dataset, generic_dataset, "image", "text", None, _Tokenizer(), seed=3)
    single = pairs.rows(pairs.positions(draw=5, batch_size=4))
    shares = [pairs.rows(pairs.positions(draw=5, batch_size=2, process_index=p, num_processes=2)) for p in range(2)]
    assert shares[0] + shares[1] == single  # 2 processes × 2 pairs = the single process's 4 pairs
    again = GenericPairs(dataset, generic_dataset, "image", "text", None, _Tokenizer(), seed=3)
    assert again.rows(again.positions(draw=5, batch_size=4)) == single  # no iterator state: a resume draws the same
    one_pass = [row for draw in range(4) for row, _ in pairs.rows(pairs.positions(draw, batch_size=4))]
    assert sorted(one_pass) == list(range(16))  # each pass shows every pair once
    second = [row for draw in range(4, 8) for row, _ in pairs.rows(pairs.positions(draw, batch_size=4))]
    assert sorted(second) == list(range(16)) and second != one_pass  # the next pass reshuffles
    other_seed = GenericPairs(dataset, generic_dataset, "image", "text", None, _Tokenizer(), seed=4)
    assert other_seed.rows(other_seed.positions(draw=5, batch_size=4)) != single
    captions = pairs.distillation_captions(8)
    assert 1 <= len(captions) <= 8 and captions == pairs.distillation_captions(8)


def test_generic_dataset_without_the_column_or_rows_is_named(generic_dataset, tmp_path):
    dataset = load_generic_dataset(generic_dataset)
    with pytest.raises(GenericDatasetError, match=r"pairs' has no column 'caption' \(--generic_caption_column\); its "
                                                  r"columns are image, text"):
        GenericPairs(dataset, generic_dataset, "image", "caption", None, _Tokenizer(), seed=0)
    with pytest.raises(GenericDatasetError, match=r"no column 'jpg' \(--generic_image_column\)"):
        GenericPairs(dataset, generic_dataset, "jpg", "text", None, _Tokenizer(), seed=0)
    with pytest.raises(GenericDatasetError, match="is empty"):
        GenericPairs(dataset.select([]), "empty_pairs", "image", "text", None, _Tokenizer(), seed=0)
    with pytest.raises(GenericDatasetError, match="does not exist"):
        load_generic_dataset(str(tmp_path / "nowhere"))


def test_retention_options_without_a_generic_dataset_are_refused(assets, tmp_path):
    with pytest.raises(SystemExit, match=r"--replay_loss_weight > 0 replays generic image–caption pairs: set "
                                         r"--generic_dataset"):
        run(small_run_args(assets, tmp_path / "replay", replay_loss_weight=0.5))
    with pytest.raises(SystemExit, match="--distillation_target similarities .* set --generic_dataset"):
        run(small_run_args(assets, tmp_path / "sims", distillation_weight=1.0, distillation_target="similarities"))


def test_retention_fields_enter_the_identity_only_when_on():
    model_args, data_args, training_args = ModelArguments(), DataArguments(), FigClipTrainingArguments()
    off = run_identity(model_args, data_args, training_args)
    assert not {"distillation_weight", "replay_loss_weight", "generic_dataset"} & set(off)  # older runs keep theirs
    on = run_identity(ModelArguments(replay_loss_weight=0.5), DataArguments(generic_dataset="pairs"), training_args)
    assert on["replay_loss_weight"] == 0.5 and on["generic_dataset"] == "pairs"


@pytest.mark.parametrize("path", RETENTION_RECIPES, ids=os.path.basename)
def test_retention_recipes_are_the_paper_recipe_plus_retention_fields(path):
    from toy_demo import recipe_overrides  # recipes/toy is on sys.path (conftest)

    model_args, data_args, training_args, _ = parse_recipe_args(
        (ModelArguments, DataArguments, FigClipTrainingArguments), ["--config", path]
    )
    assert model_args.lora_r == 64 and training_args.learning_rate == 1e-6 and model_args.video_loss_weight == 0.25
    assert model_args.distillation_weight > 0 or model_args.replay_loss_weight > 0
    changed = set(recipe_overrides(path, path, not_method={"generic_dataset"})[::2])
    assert changed and changed <= {"--distillation_weight", "--distillation_target", "--replay_loss_weight",
                                   "--replay_batch_size", "--generic_image_column", "--generic_caption_column",
                                   "--distillation_captions"}


def test_shipped_retention_recipes():
    names = {os.path.basename(p)[:-5] for p in RETENTION_RECIPES}
    assert {"distill_features", "distill_similarities", "replay", "distill_replay"} <= names


# ------------------------------------------------------------------------------------------------ runs
@pytest.mark.slow
@pytest.mark.parametrize("target", ["features", "similarities"])
def test_distillation_is_logged_zero_at_the_first_step_then_grows_and_is_recorded(assets, generic_dataset, tmp_path,
                                                                                 target):
    out = tmp_path / "run"
    run(small_run_args(assets, out, max_steps=3, distillation_weight=1.0, distillation_target=target,
                       generic_dataset=generic_dataset, distillation_captions=8))
    steps = [r for r in records(out) if "train_loss" in r]
    distillation = [r["train_loss_distillation"] for r in steps]
    assert distillation[0] == 0.0  # LoRA's B starts at zero: the adapted frames are the base's
    assert distillation[-1] > 0.0 and all("train_loss_replay" not in r for r in steps)
    retention = json.loads((out / "train_results.json").read_text())["retention"]
    assert retention["distillation_weight"] == 1.0 and retention["distillation_target"] == target
    assert retention["replay_loss_weight"] == 0.0
    assert (retention["generic_dataset"] == generic_dataset) == (target == "similarities")
    card = (out / "README.md").read_text()
    assert "| distillation_weight | 1.0 |" in card and f"| distillation_target | {target} |" in card


@pytest.mark.slow
def test_replay_is_logged_and_changes_the_adapter(assets, generic_dataset, tmp_path):
    common = dict(max_steps=2, lora_r=4)
    run(small_run_args(assets, tmp_path / "plain", **common))
    run(small_run_args(assets, tmp_path / "replay", replay_loss_weight=0.5, replay_batch_size=4,
                       generic_dataset=generic_dataset, **common))
    steps = [r for r in records(tmp_path / "replay") if "train_loss" in r]
    assert all(r["train_loss_replay"] > 0 for r in steps) and all("train_loss_distillation" not in r for r in steps)
    plain = load_file(tmp_path / "plain" / "adapter_model.safetensors")
    replay = load_file(tmp_path / "replay" / "adapter_model.safetensors")
    assert any(not torch.equal(plain[name], replay[name]) for name in plain if "lora_B" in name)
    card = (tmp_path / "replay" / "README.md").read_text()
    assert "| replay_loss_weight | 0.5 |" in card and "| replay_batch_size | 4 |" in card
    assert "Retention options (distillation to the base, replay; not in the paper): off" in (
        tmp_path / "plain" / "README.md").read_text()


def test_missing_caption_column_stops_the_run_naming_dataset_and_column(assets, generic_dataset, tmp_path):
    with pytest.raises(SystemExit, match=r"--generic_dataset '.*pairs' has no column 'caption' "
                                         r"\(--generic_caption_column\)"):
        run(small_run_args(assets, tmp_path / "run", replay_loss_weight=0.5, generic_dataset=generic_dataset,
                           generic_caption_column="caption"))


@pytest.mark.slow
def test_interrupted_and_resumed_run_with_replay_and_distillation_ends_with_the_same_weights(assets, generic_dataset,
                                                                                           tmp_path):
    common = dict(max_steps=4, save_steps=2, temporal_jitter="true", replay_loss_weight=0.5, replay_batch_size=4,
                  distillation_weight=1.0, generic_dataset=generic_dataset)
    run(small_run_args(assets, tmp_path / "full", **common))
    stopped = run(small_run_args(assets, tmp_path / "resumed", stop_after_steps=2, **common))
    assert stopped.stopped_early and stopped.global_step == 2
    resumed = run(small_run_args(assets, tmp_path / "resumed", resume_from_checkpoint="latest", **common))
    assert resumed.global_step == 4
    full = load_file(tmp_path / "full" / "adapter_model.safetensors")
    again = load_file(tmp_path / "resumed" / "adapter_model.safetensors")
    for name in full:
        torch.testing.assert_close(again[name], full[name], atol=0, rtol=0, msg=name)
    replay = lambda out: [r["train_loss_replay"] for r in records(out) if "train_loss_replay" in r]  # noqa: E731
    assert replay(tmp_path / "full") == replay(tmp_path / "resumed")


@pytest.mark.slow
@pytest.mark.distributed
def test_two_processes_with_replay_and_distillation_take_the_first_step_of_one(assets, generic_dataset, tmp_path,
                                                                              free_port):
    """Each process replays its own share of the draw: 2 × 2 pairs together are the single process's 4 (the loss
    gathers them), as the video batch is."""
    common = dict(max_steps=1, eval_split="none", temporal_jitter="true", max_train_clips=8, replay_loss_weight=0.5,
                  distillation_weight=1.0, generic_dataset=generic_dataset)
    single = small_run_args(assets, tmp_path / "single", per_device_train_batch_size=4, replay_batch_size=4, **common)
    double = small_run_args(assets, tmp_path / "double", per_device_train_batch_size=2, replay_batch_size=2, **common)
    script = os.path.join(REPO, "recipes", "train_figclip.py")
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1", "PYTHONPATH": REPO}
    subprocess.run([sys.executable, script, *single], check=True, env=env, cwd=REPO, capture_output=True)
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port), script,
         *double], env=env, cwd=REPO, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    one = load_file(tmp_path / "single" / "adapter_model.safetensors")
    two = load_file(tmp_path / "double" / "adapter_model.safetensors")
    for name in one:  # tolerance as in test_training_multiprocess (Adam's first step amplifies float noise)
        torch.testing.assert_close(two[name], one[name], atol=1e-6, rtol=1e-5, msg=name)
    replay = lambda out: [r["train_loss_replay"] for r in records(out) if "train_loss_replay" in r]  # noqa: E731
    assert replay(tmp_path / "single") == pytest.approx(replay(tmp_path / "double"), rel=1e-5)


@pytest.mark.slow
def test_training_benchmark_prices_distillation_and_replay_side_by_side(tmp_path, capsys):
    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    import bench_gpu_training

    results = bench_gpu_training.main(["--tiny", "--runs", "tiny,tiny:distill,tiny:distill+replay", "--steps", "2",
                                       "--warmup", "0", "--work_dir", str(tmp_path)])
    assert [r.run for r in results] == ["tiny", "tiny:distill", "tiny:distill+replay"]
    # Distillation adds a no-grad pass of the frames; replay adds its pairs through both towers: more work per step.
    assert results[0].tflop_per_step < results[1].tflop_per_step < results[2].tflop_per_step
    assert "| tiny:distill+replay |" in capsys.readouterr().out
