"""`recipes/evaluate_figclip.py` end to end on tiny random models and data written in the official formats."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from figclip_eval_helpers import (
    embed_by_hand,
    fake_pos_tagger,
    load_recipe_main,
    read_json,
    save_tiny_model,
    stub_embeddings,
    write_action_dataset,
    write_aro_vg,
    write_karpathy,
    write_msrvtt,
    write_sugarcrepe,
)

from dataset_scripts.benchmarks import BenchmarkDataError
from modeling_figclip.evaluation import EvaluationArguments, NonFiniteScoresError, load_encoder, run_task
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
    # Recompute the accuracy by hand: each item's image (or bbox crop) against its caption options, with the model.
    from dataset_scripts.benchmarks.aro import load_order, load_vg
    from dataset_scripts.benchmarks.common import load_rgb_image
    from dataset_scripts.benchmarks.perturbations import TextShuffler

    data_dir = os.path.join(world["root"], data)
    if task.startswith("aro_vg"):
        loaded = load_vg(data_dir, task.rsplit("_", 1)[1], os.path.join(data_dir, "images"))
        images = [load_rgb_image(it.image_path, it.crop_box) for it in loaded]
        options = [(it.false_caption, it.true_caption) for it in loaded]
        correct_index = 1
    else:
        loaded = load_order(data_dir, task.split("_")[1], TextShuffler(fake_pos_tagger(), seed=1), data_dir)
        images = [load_rgb_image(it.image_path) for it in loaded]
        options = [it.caption_options for it in loaded]
        correct_index = 0
    texts = sorted({t for option in options for t in option})
    image_embeds, text_embeds = embed_by_hand(world["figclip"], images, texts)
    scores = torch.stack([image_embeds[i] @ text_embeds[[texts.index(t) for t in o]].T for i, o in enumerate(options)])
    # Default rule: the correct option wins a tie among n top-scoring options with probability 1/n (a perturbation
    # can equal the original caption, so ties do occur here).
    at_max = scores == scores.max(dim=1, keepdim=True).values
    correct = (at_max[:, correct_index] / at_max.sum(dim=1)).numpy()
    assert result["metrics"]["accuracy"] == pytest.approx(100 * correct.mean(), abs=1e-4)
    if task.startswith("aro_vg"):
        assert set(result["metrics"]) == {"macro_accuracy", "accuracy"}
        groups = [it.group for it in loaded]
        kept = [g for g in dict.fromkeys(groups) if g != "next to"] if task == "aro_vg_relation" else list(set(groups))
        per_group = [correct[[g == k for g in groups]].mean() for k in kept]
        assert result["metrics"]["macro_accuracy"] == pytest.approx(100 * np.mean(per_group), abs=1e-4)
    else:
        assert set(result["metrics"]) == {"accuracy"}
        assert result["settings"]["shuffler"]["pos_tagger"] == "fake lexicon tagger"
        assert result["settings"]["seed"] == 1
    assert set(result["confidence_intervals"]) == set(result["metrics"])


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
    assert set(result["confidence_intervals"]) == set(result["metrics"])
    assert result["settings"]["ties"] == "expected"
    assert result["settings"]["confidence_intervals"]["resamples"] == 1000


# Captions x videos with known ranks of each caption's own video (the diagonal), no ties:
# t2v ranks 1, 1, 2, 3, 5, 8, 4, 6.
T2V_RANKS = [1, 1, 2, 3, 5, 8, 4, 6]


def _known_rank_similarity() -> torch.Tensor:
    similarity = torch.zeros(8, 8)
    for i, rank in enumerate(T2V_RANKS):
        others = [j for j in range(8) if j != i]
        similarity[i, others] = torch.tensor([0.9 - 0.1 * k for k in range(7)])
        similarity[i, i] = 0.95 if rank == 1 else 0.9 - 0.1 * (rank - 2) - 0.05
    return similarity


@pytest.mark.parametrize("ties", ["expected", "official"])
def test_msrvtt_metrics_of_a_similarity_matrix_with_known_ranks(world, tmp_path, ties):
    data = tmp_path / "msrvtt8"
    ids = write_msrvtt(str(data), num_videos=8)
    similarity = _known_rank_similarity()
    with open(data / "MSRVTT_JSFUSION_test.csv", encoding="utf-8") as handle:
        sentences = [line.rstrip("\n").split(",", 3)[3] for line in handle.readlines()[1:]]
    args = EvaluationArguments(model=world["clip"], task="msrvtt", data_dir=str(data), show_progress=False, ties=ties)
    encoder = stub_embeddings(
        load_encoder(world["clip"], args),
        texts={sentence: similarity[i] for i, sentence in enumerate(sentences)},  # caption i . video j = S[i, j]
        videos={f"{video_id}.mp4": torch.eye(8)[j] for j, video_id in enumerate(ids)},
    )
    metrics = run_task("msrvtt", encoder, args, "stub").metrics
    assert metrics["t2v_R@1"] == 25.0 and metrics["t2v_R@5"] == 75.0 and metrics["t2v_R@10"] == 100.0
    assert metrics["t2v_MedR"] == 3.5 and metrics["t2v_MnR"] == 3.75
    # Video->text reads the same matrix by columns: video j's rank is 1 + #captions scoring higher on it.
    v2t_ranks = [1 + int((similarity[:, j] > similarity[j, j]).sum()) for j in range(8)]
    assert metrics["v2t_R@1"] == pytest.approx(100 * np.mean([r <= 1 for r in v2t_ranks]))
    assert metrics["v2t_R@5"] == pytest.approx(100 * np.mean([r <= 5 for r in v2t_ranks]))
    assert metrics["v2t_MedR"] == np.median(v2t_ranks) and metrics["v2t_MnR"] == pytest.approx(np.mean(v2t_ranks))


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


def test_contextualizer_flag_changes_the_video_embeddings_the_evaluator_ranks(world, tmp_path):
    """The flag must change what is ranked: the evaluator's ranks are those of the contextualised video embeddings."""
    from dataset_scripts.benchmarks.video_io import read_video_frames

    data = tmp_path / "msrvtt10"
    ids = write_msrvtt(str(data), num_videos=10)
    args = EvaluationArguments(model=world["figclip"], task="msrvtt", data_dir=str(data), show_progress=False,
                               num_frames=8)
    encoder = load_encoder(world["figclip"], args)
    paths = [str(data / "videos" / f"{video_id}.mp4") for video_id in ids]
    with open(data / "MSRVTT_JSFUSION_test.csv", encoding="utf-8") as handle:
        sentences = [line.rstrip("\n").split(",", 3)[3] for line in handle.readlines()[1:]]
    texts = encoder.encode_texts(sentences).lookup(sentences)

    def ranks_by_hand(use_contextualizer):
        videos = encoder.encode_videos(paths, lambda p: read_video_frames(p, 8), 8,
                                       use_contextualizer=use_contextualizer).table().lookup(paths)
        similarity = texts @ videos.T
        return [1 + int((similarity[i] > similarity[i, i]).sum()) for i in range(10)]

    def evaluator_ranks(use_contextualizer):
        result = run_task("msrvtt", encoder, dataclasses.replace(args, use_contextualizer=use_contextualizer), "m")
        return result.item_tables[0].columns["rank"].astype(int).tolist()

    assert evaluator_ranks(True) == ranks_by_hand(True)
    assert evaluator_ranks(False) == ranks_by_hand(False)
    assert ranks_by_hand(True) != ranks_by_hand(False)


def test_non_finite_scores_name_the_task_the_model_and_the_count(main, world, tmp_path):
    from modeling_figclip.loading import load_model_for_inference

    model, tokenizer, processor = load_model_for_inference(world["clip"])
    with torch.no_grad():
        model.visual_projection.weight[0, 0] = float("nan")  # every image embedding becomes NaN
    broken = tmp_path / "broken"
    model.save_pretrained(broken)
    tokenizer.save_pretrained(broken)
    processor.save_pretrained(broken)
    with pytest.raises(NonFiniteScoresError, match=r"sugarcrepe, model .*broken: 24 of 24 scores are NaN"):
        main(["--model", str(broken), "--task", "sugarcrepe", "--data_dir",
              os.path.join(world["root"], "sugarcrepe"), *QUIET])


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
    assert result["metrics"]["top1_std"] == pytest.approx(np.std([m["top1"] for m in per_split.values()]))
    assert set(result["metrics"]) == {"top1", "top5", "mean_per_class", "top1_std"}
    assert set(result["confidence_intervals"]) == set(result["metrics"])


SEVEN_CLASSES = ["ApplyEyeMakeup", "BoxingPunchingBag", "YoYo", "Drumming", "Fencing", "Rowing", "Surfing"]


def test_action_recognition_metrics_of_scores_with_known_ranks(world, tmp_path):
    from modeling_figclip.evaluation.action_recognition import class_prompts

    entries = write_action_dataset(str(tmp_path / "ucf"), "ucf101", splits=(1,), videos_per_split=7,
                                   classes=SEVEN_CLASSES)[1]
    label_ranks = [1, 2, 6, 5, 7, 3, 1]  # rank of each video's own class among the 7
    videos = {}
    for (name, label), rank in zip(entries, label_ranks):
        others = [c for c in range(7) if c != label]
        scores = torch.zeros(7)
        scores[others] = torch.tensor([0.9 - 0.1 * k for k in range(6)])
        scores[label] = 0.95 if rank == 1 else 0.9 - 0.1 * (rank - 2) - 0.05
        videos[name] = scores
    prompts = class_prompts(tuple(SEVEN_CLASSES), "ucf101", "classname")
    args = EvaluationArguments(model=world["clip"], task="ucf101", data_dir=str(tmp_path / "ucf"), show_progress=False)
    encoder = stub_embeddings(load_encoder(world["clip"], args),
                              texts={p[0]: torch.eye(7)[c] for c, p in enumerate(prompts)}, videos=videos)
    result = run_task("ucf101", encoder, args, "stub")
    assert result.metrics["top1"] == pytest.approx(100 * 2 / 7)
    assert result.metrics["top5"] == pytest.approx(100 * 5 / 7)
    assert result.metrics["mean_per_class"] == pytest.approx(100 * 2 / 7)  # one video per class


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


@pytest.mark.slow
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


def test_adapter_scales_and_feature_ensembles_in_one_run(main, world, tmp_path):
    """`--adapter_scales` / `--feature_ensembles`: one adapter at every read-out, each equal to loading it that way;
    α = 0 and λ = 0 are the base CLIP; texts are encoded once for all read-outs; tradeoff.{json,md,png} written."""
    from modeling_figclip import FigClipModel, add_figclip_adapters, save_figclip_adapters

    peft_model = add_figclip_adapters(FigClipModel.from_pretrained(world["clip"]), r=4)
    with torch.no_grad():  # LoRA B starts at zero; make the adapter change the vision tower
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5)
    adapter_dir = str(tmp_path / "adapter")
    save_figclip_adapters(peft_model, adapter_dir)
    data = ["--task", "msrvtt", "--data_dir", os.path.join(world["root"], "msrvtt")]
    out = tmp_path / "tradeoff"
    summary = main(["--model", adapter_dir, *data, "--adapter_scales", "1,0,0.5", "--feature_ensembles", "0.5",
                    "--output_dir", str(out), *QUIET])
    labels = [entry["label"] for entry in summary["read_outs"]]
    assert labels == ["α = 0", "α = 0.5", "α = 1", "ensemble λ = 0.5"]
    metrics = {entry["label"]: entry["result"]["metrics"] for entry in summary["read_outs"]}

    def alone(**read_out):
        args = EvaluationArguments(model=adapter_dir, task=data[1], data_dir=data[3], show_progress=False)
        return run_task(args.task, load_encoder(adapter_dir, args, **read_out), args, adapter_dir).metrics

    base = run(main, world, tmp_path, "--model", world["clip"], *data)["metrics"]
    assert metrics["α = 0"] == pytest.approx(base)
    assert metrics["α = 0.5"] == pytest.approx(alone(adapter_scale=0.5))
    assert metrics["α = 1"] == pytest.approx(alone())
    assert metrics["ensemble λ = 0.5"] == pytest.approx(alone(feature_ensemble=0.5))
    assert metrics["α = 1"] != metrics["α = 0"]  # the adapter moved the scores
    saved = read_json(str(out / "tradeoff.json"))
    assert [entry["result"]["settings"]["read_out"] for entry in saved["read_outs"]] == [
        {"adapter_scale": 0.0}, {"adapter_scale": 0.5}, {"adapter_scale": 1.0}, {"feature_ensemble": 0.5}]
    assert "| ensemble λ = 0.5 |" in (out / "tradeoff.md").read_text() and (out / "tradeoff.png").stat().st_size > 0

    with pytest.raises(ValueError, match="need a FiGCLIP adapter"):
        main(["--model", world["clip"], *data, "--adapter_scales", "0,1", "--output_dir", str(out), *QUIET])
    with pytest.raises(ValueError, match=r"needs values in \[0, 1\]"):
        main(["--model", adapter_dir, *data, "--adapter_scales", "0,2", "--output_dir", str(out), *QUIET])
