"""`--suite`: two tiny models x several tasks -> per-run JSON, markdown table with references, bar chart."""

import os

import pytest
import yaml
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

from modeling_figclip.evaluation import EvalResult, render_markdown
from modeling_figclip.evaluation.suite import read_suite


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    save_tiny_model(str(root / "clip"), seed=0)
    save_tiny_model(str(root / "figclip"), seed=1, figclip=True)
    write_sugarcrepe(str(root / "sugarcrepe"), str(root / "sugarcrepe" / "val2017"))
    write_aro_vg(str(root / "aro"), "relation")
    write_karpathy(str(root / "coco"), "coco")
    write_msrvtt(str(root / "msrvtt"))
    write_action_dataset(str(root / "ucf101"), "ucf101", splits=(1,))
    suite = {
        "output_dir": str(root / "report"),
        "settings": {"show_progress": False, "batch_size": 16, "pos_tagger": "figclip_eval_helpers:fake_pos_tagger"},
        "models": [
            {"name": "CLIP tiny", "path": str(root / "clip")},
            {"name": "FiGCLIP tiny", "path": str(root / "figclip")},
        ],
        "tasks": [
            {"task": "sugarcrepe", "data_dir": str(root / "sugarcrepe")},
            {"task": "aro_vg_relation", "data_dir": str(root / "aro")},
            {"task": "aro_coco_order", "data_dir": str(root / "coco")},
            {"task": "msrvtt", "data_dir": str(root / "msrvtt"), "num_frames": 4},
            {"task": "ucf101", "data_dir": str(root / "ucf101"), "num_frames": 4},
        ],
    }
    path = root / "suite.yaml"
    path.write_text(yaml.safe_dump(suite))
    return str(path)


def test_suite_writes_results_table_and_chart(suite_file):
    summary = load_recipe_main()(["--suite", suite_file])
    output_dir = read_suite(suite_file)["output_dir"]
    for model in ("CLIP_tiny", "FiGCLIP_tiny"):
        for task in ("sugarcrepe", "aro_vg_relation", "aro_coco_order", "msrvtt", "ucf101"):
            result = read_json(os.path.join(output_dir, "results", model, f"{task}.json"))
            assert result["task"] == task and result["num_items"] > 0
    with open(os.path.join(output_dir, "report.md"), encoding="utf-8") as handle:
        markdown = handle.read()
    assert markdown == summary["markdown"]
    header = markdown.splitlines()[0]
    assert "| CLIP tiny | FiGCLIP tiny | Δ (FiGCLIP tiny − CLIP tiny) | Reference (published, not ours) |" in header
    assert "| msrvtt | t2v_R@1 |" in markdown and "31.2 CLIP ViT-B/32 [" in markdown
    assert "| msrvtt | t2v_MedR ↓ |" in markdown
    # Every model cell is `value [low, high]` from that run's results.json, and Δ carries its paired interval.
    clip_r1 = read_json(os.path.join(output_dir, "results", "CLIP_tiny", "msrvtt.json"))
    low, high = clip_r1["confidence_intervals"]["t2v_R@1"]
    row = next(line for line in markdown.splitlines() if line.startswith("| msrvtt | t2v_R@1 |"))
    assert row.split(" | ")[2] == f"{clip_r1['metrics']['t2v_R@1']:.1f} [{low:.1f}, {high:.1f}]"
    delta_low, delta_high = summary["paired_differences"]["msrvtt/t2v_R@1"]["last_minus_first"]
    assert row.split(" | ")[4].endswith(f"[{delta_low:+.1f}, {delta_high:+.1f}]")
    assert "Portillo-Quintero" in markdown and "published numbers from other work" in markdown
    with open(os.path.join(output_dir, "report.png"), "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert len(summary["results"]) == 10


def test_command_line_flags_override_the_suite(suite_file, tmp_path):
    summary = load_recipe_main()(["--suite", suite_file, "--max_items", "2", "--output_dir", str(tmp_path)])
    sugarcrepe = [r for r in summary["results"] if r["task"] == "sugarcrepe"]
    assert all(r["num_items"] == 2 and r["settings"]["max_items"] == 2 for r in sugarcrepe)
    assert os.path.isfile(tmp_path / "report.md")


def test_suite_file_errors(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"models": [{"path": "m"}], "tasks": [{"task": "sugarcrepe", "data_dirr": "x"}]}))
    with pytest.raises(ValueError, match=r"tasks\[0\] has unknown key\(s\) \['data_dirr'\]"):
        read_suite(str(path))
    path.write_text(yaml.safe_dump({"models": [{"path": "m"}], "tasks": [{"task": "imagenet"}]}))
    with pytest.raises(ValueError, match=r"tasks\[0\] needs 'task'"):
        read_suite(str(path))
    path.write_text(yaml.safe_dump({"modles": []}))
    with pytest.raises(ValueError, match="unknown suite key"):
        read_suite(str(path))


def test_markdown_marks_missing_values_and_unverified_references():
    results = [
        EvalResult("aro_vg_attribution", "base", {"macro_accuracy": 50.0, "accuracy": 51.0}, 10),
        EvalResult("aro_vg_attribution", "ours", {"macro_accuracy": 55.5, "accuracy": 52.0}, 10),
        EvalResult("sugarcrepe", "base", {"swap_obj": 40.0}, 4),
    ]
    markdown = render_markdown(results, ["base", "ours"])
    assert "| aro_vg_attribution | macro_accuracy | 50.0 | 55.5 | +5.5 |" in markdown  # no item tables: no intervals
    assert "62.0 CLIP ViT-B/32 (unverified)" in markdown
    assert "| sugarcrepe | swap_obj | 40.0 | – | – |" in markdown


def test_markdown_shows_intervals_and_the_paired_interval_of_the_difference():
    from modeling_figclip.evaluation import ItemTable, difference_intervals
    from modeling_figclip.evaluation.bootstrap import Mean

    def run(model, correct):
        table = ItemTable("items", {"correct": correct}, {"accuracy": Mean("correct")}, items_digest="same items")
        return EvalResult("aro_coco_order", model, table.evaluate(), len(correct),
                          settings={"confidence_intervals": {"resamples": 1000, "seed": 0}},
                          confidence_intervals={"accuracy": [10.0, 20.0]}, item_tables=[table])

    base = run("base", [1.0] * 50 + [0.0] * 50)
    ours = run("ours", [1.0] * 60 + [0.0] * 40)  # right on 10 more items, wrong on none the base got right
    markdown = render_markdown([base, ours], ["base", "ours"], with_references=False)
    low, high = difference_intervals([ours.item_tables], [base.item_tables])["accuracy"]
    assert 0.0 < low <= 10.0 <= high  # paired: the 10 extra items are always a gain, never a loss
    assert f"| aro_coco_order | accuracy | 50.0 [10.0, 20.0] | 60.0 [10.0, 20.0] | +10.0 [{low:+.1f}, {high:+.1f}] |" \
        in markdown
