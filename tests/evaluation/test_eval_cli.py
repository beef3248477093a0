"""`recipes/evaluate_figclip.py` end to end on tiny random models and data written in the official formats."""

import json
import os
import subprocess
import sys

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

from dataset_scripts.benchmarks import BenchmarkDataError
from modeling_figclip.evaluation.cli import parse_args

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUIET = ["--show_progress", "false"]
FAKE_TAGGER = ["--pos_tagger", "figclip_eval_helpers:fake_pos_tagger"]


@pytest.fixture(scope="module")
def main():
    return load_recipe_main()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval_world")
    paths = {
        "clip": save_tiny_model(str(root / "clip"), seed=0),
        "figclip": save_tiny_model(str(root / "figclip"), seed=1, figclip=True),
    }
    write_sugarcrepe(str(root / "sugarcrepe"), str(root / "sugarcrepe" / "val2017"))
    write_aro_vg(str(root / "aro"), "relation")
    write_aro_vg(str(root / "aro"), "attribution")
    write_karpathy(str(root / "coco"), "coco")
    write_karpathy(str(root / "flickr"), "flickr")
    write_msrvtt(str(root / "msrvtt"))
    for dataset in ("ucf101", "hmdb51", "k600"):
        write_action_dataset(str(root / dataset), dataset)
    paths["root"] = str(root)
    return paths


def run(main, world, tmp_path, *argv):
    output = str(tmp_path / "results.json")
    main([*argv, "--output", output, *QUIET])
    return read_json(output)


def test_sugarcrepe_results_json_and_value(main, world, tmp_path):
    result = run(
        main,
        world,
        tmp_path,
        "--model",
        world["clip"],
        "--task",
        "sugarcrepe",
        "--data_dir",
        os.path.join(world["root"], "sugarcrepe"),
    )
    assert set(result) >= {"task", "model", "metrics", "num_items", "settings", "num_skipped"}
    assert result["task"] == "sugarcrepe" and result["model"] == world["clip"]
    assert set(result["metrics"]) == {"add_att", "replace_obj", "swap_att", "add", "replace", "swap"}
    assert result["num_items"] == 12 and result["num_skipped"] == 0
    assert result["details"]["num_items_per_subset"] == {"add_att": 4, "replace_obj": 4, "swap_att": 4}

    # Recompute one subset by hand with the model itself: strict '>' on cosine similarities.
    from PIL import Image

    from modeling_figclip.loading import load_model_for_inference
    from modeling_figclip.utils import l2_normalize, to_embedding_tensor

    model, tokenizer, processor = load_model_for_inference(world["clip"])
    records = read_json(os.path.join(world["root"], "sugarcrepe", "add_att.json"))
    correct = []
    with torch.no_grad():
        for record in records.values():
            image = Image.open(os.path.join(world["root"], "sugarcrepe", "val2017", record["filename"])).convert("RGB")
            image_embed = l2_normalize(
                to_embedding_tensor(model.get_image_features(**processor(images=image, return_tensors="pt")))
            )
            tokens = tokenizer([record["caption"], record["negative_caption"]], padding=True, return_tensors="pt")
            text_embeds = l2_normalize(to_embedding_tensor(model.get_text_features(**tokens)))
            scores = (image_embed @ text_embeds.T)[0]
            correct.append(bool(scores[0] > scores[1]))
    assert result["metrics"]["add_att"] == pytest.approx(100 * sum(correct) / len(correct))


@pytest.mark.parametrize(
    "task,data,extra,items",
    [
        ("aro_vg_relation", "aro", [], 6),
        ("aro_vg_attribution", "aro", [], 56),
        ("aro_coco_order", "coco", FAKE_TAGGER, 6),
        ("aro_flickr_order", "flickr", FAKE_TAGGER, 6),
    ],
)
def test_aro_tasks(main, world, tmp_path, task, data, extra, items):
    result = run(
        main,
        world,
        tmp_path,
        "--model",
        world["figclip"],
        "--task",
        task,
        "--data_dir",
        os.path.join(world["root"], data),
        *extra,
    )
    assert result["num_items"] == items
    if task.startswith("aro_vg"):
        assert set(result["metrics"]) == {"macro_accuracy", "accuracy"}
    else:
        assert set(result["metrics"]) == {"accuracy"}
        assert result["settings"]["shuffler"]["pos_tagger"] == "fake lexicon tagger"
        assert result["settings"]["seed"] == 1
    assert all(0 <= v <= 100 for v in result["metrics"].values())


def test_aro_relation_macro_drops_excluded_relations(main, world, tmp_path):
    result = run(
        main,
        world,
        tmp_path,
        "--model",
        world["clip"],
        "--task",
        "aro_vg_relation",
        "--data_dir",
        os.path.join(world["root"], "aro"),
    )
    per_relation = result["details"]["per_relation"]
    assert set(per_relation) == {"holding", "next to", "on"}
    # "next to" is on the official excluded list: the macro averages "holding" and "on" only.
    assert result["metrics"]["macro_accuracy"] == pytest.approx((per_relation["holding"] + per_relation["on"]) / 2)


def test_msrvtt_retrieval(main, world, tmp_path):
    result = run(
        main,
        world,
        tmp_path,
        "--model",
        world["clip"],
        "--task",
        "msrvtt",
        "--data_dir",
        os.path.join(world["root"], "msrvtt"),
        "--similarity_chunk_size",
        "2",
        "--num_workers",
        "2",
    )
    assert set(result["metrics"]) == {f"{d}_{m}" for d in ("t2v", "v2t") for m in ("R@1", "R@5", "R@10", "MedR", "MnR")}
    assert result["num_items"] == 5 and result["settings"]["num_frames"] == 12
    assert result["metrics"]["t2v_R@5"] == 100.0  # 5 candidates
    assert 1 <= result["metrics"]["t2v_MedR"] <= 5


def test_msrvtt_with_contextualizer_on_figclip(main, world, tmp_path):
    result = run(
        main,
        world,
        tmp_path,
        "--model",
        world["figclip"],
        "--task",
        "msrvtt",
        "--num_frames",
        "8",
        "--use_contextualizer",
        "true",
        "--data_dir",
        os.path.join(world["root"], "msrvtt"),
    )
    assert result["settings"]["video_embedding"] == "contextualizer video token"


@pytest.mark.parametrize("dataset,templates", [("ucf101", "clip"), ("hmdb51", "classname"), ("k600", "classname")])
def test_action_recognition(main, world, tmp_path, dataset, templates):
    result = run(
        main,
        world,
        tmp_path,
        "--model",
        world["clip"],
        "--task",
        dataset,
        "--num_frames",
        "4",
        "--templates",
        templates,
        "--data_dir",
        os.path.join(world["root"], dataset),
    )
    assert result["settings"]["splits"] == ["split1", "split2", "split3"]
    assert result["num_items"] == 9
    per_split = result["details"]["per_split"]
    assert result["metrics"]["top1"] == pytest.approx(sum(m["top1"] for m in per_split.values()) / 3)
    assert result["metrics"]["top5"] == 100.0  # 3 classes
    assert set(result["metrics"]) == {"top1", "top5", "mean_per_class", "top1_std"}


def test_single_split(main, world, tmp_path):
    result = run(
        main,
        world,
        tmp_path,
        "--model",
        world["clip"],
        "--task",
        "ucf101",
        "--num_frames",
        "4",
        "--splits",
        "2",
        "--data_dir",
        os.path.join(world["root"], "ucf101"),
    )
    assert result["settings"]["splits"] == ["split2"] and result["num_items"] == 3


def test_missing_image_error_names_file_and_key_and_skip_missing_reports_it(main, world, tmp_path):
    data = tmp_path / "sugarcrepe"
    write_sugarcrepe(str(data), str(data / "val2017"), subsets=("swap_att",), num_images=4)
    os.remove(data / "val2017" / "000000000004.jpg")
    with pytest.raises(BenchmarkDataError, match=r"swap_att\.json, key '7': image .*000000000004\.jpg not found"):
        main(["--model", world["clip"], "--task", "sugarcrepe", "--data_dir", str(data), *QUIET])
    result = run(
        main,
        world,
        tmp_path,
        "--model",
        world["clip"],
        "--task",
        "sugarcrepe",
        "--data_dir",
        str(data),
        "--skip_missing",
        "true",
    )
    assert result["num_items"] == 3 and result["num_skipped"] == 1
    assert "000000000004.jpg not found" in result["details"]["skipped"]["examples"][0]


def test_undecodable_video_is_skipped_and_counted(main, world, tmp_path):
    data = tmp_path / "msrvtt"
    write_msrvtt(str(data), num_videos=4)
    (data / "videos" / "video9771.mp4").write_bytes(b"broken")
    with pytest.raises(BenchmarkDataError, match=r"video9771\.mp4: could not be loaded"):
        main(["--model", world["clip"], "--task", "msrvtt", "--data_dir", str(data), *QUIET])
    result = run(
        main,
        world,
        tmp_path,
        "--model",
        world["clip"],
        "--task",
        "msrvtt",
        "--data_dir",
        str(data),
        "--skip_missing",
        "true",
    )
    assert result["num_items"] == 3 and result["num_skipped"] == 1 and result["details"]["num_videos"] == 3


def test_yaml_config_with_cli_override_and_unknown_keys(world, tmp_path):
    config = tmp_path / "eval.yaml"
    config.write_text(f"model: {world['clip']}\ntask: sugarcrepe\ndata_dir: /data\nbatch_size: 8\nties: pessimistic\n")
    args = parse_args(["--config", str(config), "--batch_size", "3"])
    assert args.model == world["clip"] and args.task == "sugarcrepe" and args.config == str(config)
    assert args.batch_size == 3 and args.ties == "pessimistic"  # CLI over YAML over defaults
    config.write_text("task: sugarcrepe\nbatch_sise: 8\nimage_folder: x\n")
    with pytest.raises(ValueError, match=r"eval\.yaml has unknown keys \['batch_sise', 'image_folder'\]"):
        parse_args(["--config", str(config)])
    with pytest.raises(ValueError, match="missing required argument"):
        parse_args(["--task", "sugarcrepe"]).validate_single_run()
    with pytest.raises(ValueError, match="Unknown command-line arguments"):
        parse_args(["--task", "sugarcrepe", "--bogus", "1"])


def test_example_configs_parse():
    for name in sorted(os.listdir(os.path.join(REPO, "recipes", "eval"))):
        if name.endswith(".yaml") and not name.startswith("suite"):
            args = parse_args(["--config", os.path.join(REPO, "recipes", "eval", name)])
            args.validate_single_run()


def test_base_adapter_and_merged_checkpoints_give_consistent_results(main, world, tmp_path):
    from transformers import AutoImageProcessor, AutoTokenizer

    from modeling_figclip import FigClipModel, add_figclip_adapters, merge_figclip_adapters

    peft_model = add_figclip_adapters(FigClipModel.from_pretrained(world["clip"]), r=4)
    with torch.no_grad():  # LoRA B starts at zero; make the adapter change the vision tower
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5)
    peft_model.save_pretrained(tmp_path / "adapter")
    merged = merge_figclip_adapters(peft_model)
    merged.save_pretrained(tmp_path / "merged")
    AutoTokenizer.from_pretrained(world["clip"]).save_pretrained(tmp_path / "merged")
    AutoImageProcessor.from_pretrained(world["clip"]).save_pretrained(tmp_path / "merged")
    data = ["--task", "aro_vg_attribution", "--data_dir", os.path.join(world["root"], "aro")]
    adapter = run(main, world, tmp_path, "--model", str(tmp_path / "adapter"), *data)
    merged_result = run(main, world, tmp_path, "--model", str(tmp_path / "merged"), *data)
    assert adapter["metrics"] == pytest.approx(merged_result["metrics"])
    assert adapter["settings"]["model_class"] == merged_result["settings"]["model_class"] == "FigClipModel"


def test_command_line_entry_point(world, tmp_path):
    env = {**os.environ, "PYTHONPATH": REPO, "HF_HUB_OFFLINE": "1"}
    output = tmp_path / "cli.json"
    command = [
        sys.executable,
        os.path.join(REPO, "recipes", "evaluate_figclip.py"),
        "--model",
        world["clip"],
        "--task",
        "aro_vg_relation",
        "--data_dir",
        os.path.join(world["root"], "aro"),
        "--output",
        str(output),
        *QUIET,
    ]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(output.read_text())["num_items"] == 6
    bad = subprocess.run(
        [*command[:6], "--data_dir", str(tmp_path / "nowhere")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert bad.returncode == 2 and "visual_genome_relation.json: file not found" in bad.stderr
