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

from dataset_scripts.vidsitu import write_synthetic_release

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
    "vidsitu_verbs": ("vidsitu", [], "Acc@1", None),  # chance from the annotations, `_vidsitu_chance`
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
    write_synthetic_release(str(root / "vidsitu"), num_train=6, num_valid=4, num_test=0, video="mp4", size=(32, 32),
                            fps=4)
    return {"root": str(root), "real": real, "collapsed": collapsed}


def _vidsitu_chance(release_dir: str) -> float:
    """Acc@1 (%) of a model that ties every verb: per validation event, its distinct annotator VerbIDs that are in the
    vocabulary (the train split's VerbIDs) over the vocabulary's size, averaged over events."""
    annotations = os.path.join(release_dir, "vidsitu_annotations")
    train = read_json(os.path.join(annotations, "vseg_ann_files", "vsann_train_lb.json"))
    vocabulary = {record[event]["VerbID"] for record in train for event in record}
    valid = read_json(os.path.join(annotations, "vinfo_files", "vinfo_valid_lb.json"))
    chances = [len(set(record["vbid_lst"][event]) & vocabulary) / len(vocabulary)
               for record in valid for event in record["vbid_lst"]]
    return 100.0 * sum(chances) / len(chances)


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
        if task == "vidsitu_verbs":
            chance = _vidsitu_chance(os.path.join(world["root"], "vidsitu"))
        elif chance is None:  # action recognition: one class among those of each split
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
