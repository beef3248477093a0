"""A collapsed model (every candidate scored the same) gets chance level on every task under the default tie rule —
not 100 as the old optimistic default gave it — while a real model's numbers come with confidence intervals.

Run with `-s` to see both models' table: `python -m pytest -q -s tests/evaluation/test_eval_collapsed_model.py`.
"""

import os

import pytest
import torch
from figclip_eval_helpers import (
    load_recipe_main,
    read_json,
    save_tiny_model,
    write_action_dataset,
    write_aro_vg,
    write_karpathy,
    write_msrvtt,
    write_sugarcrepe,
)
from transformers import CLIPModel

QUIET = ["--show_progress", "false"]
FAKE_TAGGER = ["--pos_tagger", "figclip_eval_helpers:fake_pos_tagger"]

# task -> (data folder, extra flags, metric, its chance level in percent for the data the helpers write)
TASKS = {
    "sugarcrepe": ("sugarcrepe", [], "replace_obj", 50.0),
    "aro_vg_relation": ("aro", [], "macro_accuracy", 50.0),
    "aro_vg_attribution": ("aro", [], "macro_accuracy", 50.0),
    "aro_coco_order": ("coco", FAKE_TAGGER, "accuracy", 20.0),  # the original caption among 5
    "msrvtt": ("msrvtt", [], "t2v_R@1", 20.0),  # 5 videos
    "ucf101": ("ucf101", ["--num_frames", "4"], "top1", None),  # chance = 1 / number of classes, read below
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("collapsed_world")
    real = save_tiny_model(str(root / "real"), seed=0)
    collapsed = save_tiny_model(str(root / "collapsed"), seed=0)
    model = CLIPModel.from_pretrained(collapsed)
    with torch.no_grad():  # every image and text embedding becomes 0: every score ties
        model.visual_projection.weight.zero_()
        model.text_projection.weight.zero_()
    model.save_pretrained(collapsed)
    write_sugarcrepe(str(root / "sugarcrepe"), str(root / "sugarcrepe" / "val2017"))
    write_aro_vg(str(root / "aro"), "relation")
    write_aro_vg(str(root / "aro"), "attribution")
    write_karpathy(str(root / "coco"), "coco")
    write_msrvtt(str(root / "msrvtt"))
    write_action_dataset(str(root / "ucf101"), "ucf101")
    return {"root": str(root), "real": real, "collapsed": collapsed}


def _evaluate(world, tmp_path, model: str, task: str, ties: str = "expected") -> dict:
    folder, extra, _, _ = TASKS[task]
    output = str(tmp_path / f"{model}_{task}_{ties}.json")
    load_recipe_main()([
        "--model", world[model], "--task", task, "--data_dir", os.path.join(world["root"], folder), "--ties", ties,
        "--output", output, *extra, *QUIET,
    ])  # fmt: skip
    return read_json(output)


def test_a_collapsed_model_scores_chance_on_every_task_and_a_real_one_gets_intervals(world, tmp_path):
    rows = []
    for task, (_, _, metric, chance) in TASKS.items():
        collapsed = _evaluate(world, tmp_path, "collapsed", task)
        real = _evaluate(world, tmp_path, "real", task)
        if chance is None:  # action recognition: one class among those of each split
            (classes,) = set(collapsed["details"]["num_classes_per_split"].values())
            chance = 100.0 / classes
        value = collapsed["metrics"][metric]
        assert value == pytest.approx(chance), (task, value)
        low, high = real["confidence_intervals"][metric]
        assert low <= real["metrics"][metric] <= high
        rows.append((task, metric, chance, value, collapsed["confidence_intervals"][metric], real["metrics"][metric],
                     (low, high)))
    print("\n| task | metric | chance | collapsed model [95% CI] | tiny random model [95% CI] |\n|---|---|---|---|---|")
    for task, metric, chance, value, interval, real_value, real_interval in rows:
        print(f"| {task} | {metric} | {chance:.1f} | {value:.1f} "
              f"[{interval[0]:.1f}, {interval[1]:.1f}] | {real_value:.1f} [{real_interval[0]:.1f}, {real_interval[1]:.1f}] |")


@pytest.mark.parametrize("task", ["msrvtt", "ucf101"])
def test_the_optimistic_rule_would_give_the_collapsed_model_100(world, tmp_path, task):
    _, _, metric, _ = TASKS[task]
    assert _evaluate(world, tmp_path, "collapsed", task, ties="optimistic")["metrics"][metric] == 100.0
