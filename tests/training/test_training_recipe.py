"""The training recipe end to end on CPU: outputs, exact resume, text cache, bad input, Hub paths."""

import json
import os
import shutil
import sys

import pytest
import torch
import yaml
from safetensors.torch import load_file

from training_assets import small_run_args
from modeling_figclip import FigClipModel
from modeling_figclip.training.hub import files_to_upload, push_run_to_hub

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "recipes"))
import train_figclip  # noqa: E402


def run(argv):
    # Accelerate's state is a per-process singleton; each run here plays a fresh `accelerate launch`.
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    return train_figclip.main(argv)


@pytest.mark.slow
def test_training_writes_adapter_card_logs_and_loads_back(assets, tmp_path):
    out = tmp_path / "run"
    result = run(small_run_args(assets, out, eval_steps=2, save_steps=2, save_merged_model="true", report_to="tensorboard"))
    assert result.global_step == 4 and not result.stopped_early
    for name in ("adapter_config.json", "adapter_model.safetensors", "README.md", "metrics.jsonl", "loss_curve.png",
                 "tokenizer.json", "preprocessor_config.json", "run_config.json", "train_results.json"):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    assert not list(out.glob("*.tmp"))
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "train_loss" in r] == [1, 2, 3, 4]
    evals = [r for r in records if "eval_loss" in r]
    assert [r["step"] for r in evals] == [2, 4]
    for key in ("eval_clip_event_R@1", "eval_vc_event_R@1", "eval_clip_hard_negative_acc", "eval_loss_vc_video"):
        assert 0 <= evals[-1][key] and key in result.final_metrics
    card = (out / "README.md").read_text()
    assert "model-index" in card and "eval_clip_event_R@1" in card and "FigClipModel.from_pretrained" in card
    assert list((out / "logs").rglob("events.out.tfevents.*"))  # TensorBoard tracker

    model = FigClipModel.from_pretrained(out)  # the adapter folder: base + LoRA + contextualiser
    saved = load_file(out / "adapter_model.safetensors")
    assert any("video_contextualizer" in k for k in saved) and any("lora_A" in k for k in saved)
    assert type(model) is FigClipModel
    assert (out / "merged_clip" / "config.json").is_file()
    assert json.loads((out / "merged_clip" / "config.json").read_text())["model_type"] == "clip"


@pytest.mark.slow
def test_interrupted_and_resumed_run_ends_with_the_same_weights(assets, tmp_path):
    common = dict(max_steps=6, save_steps=3, temporal_jitter="true")
    run(small_run_args(assets, tmp_path / "full", **common))
    stopped = run(small_run_args(assets, tmp_path / "resumed", stop_after_steps=3, **common))
    assert stopped.stopped_early and stopped.global_step == 3
    assert not (tmp_path / "resumed" / "adapter_model.safetensors").exists()
    resumed = run(small_run_args(assets, tmp_path / "resumed", resume_from_checkpoint="latest", **common))
    assert resumed.global_step == 6
    full = load_file(tmp_path / "full" / "adapter_model.safetensors")
    again = load_file(tmp_path / "resumed" / "adapter_model.safetensors")
    assert full.keys() == again.keys()
    for name in full:
        torch.testing.assert_close(again[name], full[name], atol=0, rtol=0, msg=name)
    losses = lambda p: [json.loads(l).get("train_loss") for l in (p / "metrics.jsonl").read_text().splitlines()]
    assert [x for x in losses(tmp_path / "full") if x is not None] == [x for x in losses(tmp_path / "resumed") if x is not None]


@pytest.mark.slow
def test_text_cache_gives_the_same_training_as_the_text_encoder(assets, tmp_path):
    run(small_run_args(assets, tmp_path / "cached", max_steps=2))
    run(small_run_args(assets, tmp_path / "uncached", max_steps=2, text_embedding_cache="false"))
    cached = load_file(tmp_path / "cached" / "adapter_model.safetensors")
    uncached = load_file(tmp_path / "uncached" / "adapter_model.safetensors")
    for name in cached:
        torch.testing.assert_close(cached[name], uncached[name], atol=1e-5, rtol=1e-4, msg=name)


def test_unknown_yaml_key_is_a_clear_error(tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"learning_rate": 1e-6, "lerning_rate": 2e-6}))
    with pytest.raises(SystemExit, match=r"unknown keys \['lerning_rate'\]"):
        run(["--config", str(recipe)])


def test_missing_base_model_is_a_clear_error(assets, tmp_path):
    with pytest.raises(SystemExit, match="Base model folder .*does not exist"):
        run(small_run_args(assets, tmp_path / "out", model_name_or_path=str(tmp_path / "no_such_model")))


def test_offline_hub_id_fails_fast(assets, tmp_path):
    import time

    start = time.perf_counter()
    with pytest.raises(SystemExit, match=r"openai/clip-vit-base-patch32: .*not in the local Hugging Face cache .*offline"):
        run(small_run_args(assets, tmp_path / "out", model_name_or_path="openai/clip-vit-base-patch32"))
    assert time.perf_counter() - start < 30


def test_vidsitu_directory_missing_files_is_a_clear_error(assets, tmp_path):
    broken = tmp_path / "vidsitu"
    shutil.copytree(assets["vidsitu_dir"], broken, ignore=shutil.ignore_patterns("videos"))
    os.remove(broken / "vidsitu_annotations" / "vseg_ann_files" / "vsann_train_lb.json")
    with pytest.raises(SystemExit, match="vsann_train_lb.json"):
        run(small_run_args(assets, tmp_path / "out", vidsitu_dir=str(broken)))


def test_output_dir_of_another_run_and_foreign_checkpoint_are_refused(assets, tmp_path):
    out = tmp_path / "out"
    run(small_run_args(assets, out, max_steps=1, save_steps=1))
    with pytest.raises(SystemExit, match=r"holds a different run \(lora_r: 4 -> 8\)"):
        run(small_run_args(assets, out, max_steps=1, lora_r=8))
    with pytest.raises(SystemExit, match="already holds checkpoints"):
        run(small_run_args(assets, out, max_steps=1))
    with pytest.raises(SystemExit, match=r"comes from another configuration \(learning_rate"):
        run(small_run_args(assets, tmp_path / "other", max_steps=1, learning_rate=0.5,
                           resume_from_checkpoint=str(out / "checkpoint-1")))


def test_push_to_hub_uploads_adapter_and_card_only(tmp_path):
    for name in ("adapter_config.json", "adapter_model.safetensors", "README.md", "tokenizer.json",
                 "preprocessor_config.json", "metrics.jsonl", "run_config.json"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "checkpoint-2").mkdir()
    calls = {}

    class FakeApi:
        def create_repo(self, repo_id, private, exist_ok):
            calls["create"] = (repo_id, private, exist_ok)

        def upload_folder(self, **kwargs):
            calls["upload"] = kwargs
            return "https://huggingface.co/user/figclip-test/commit/0"

    push_run_to_hub(str(tmp_path), "user/figclip-test", private=True, api=FakeApi())
    assert calls["create"] == ("user/figclip-test", True, True)
    uploaded = calls["upload"]["allow_patterns"]
    assert uploaded == files_to_upload(str(tmp_path))
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md", "tokenizer.json"} <= set(uploaded)
    assert not {"metrics.jsonl", "run_config.json", "checkpoint-2"} & set(uploaded)


@pytest.mark.slow
def test_adapter_loads_from_a_prepopulated_offline_hub_cache(assets, tmp_path, monkeypatch):
    out = tmp_path / "run"
    run(small_run_args(assets, out, max_steps=1))
    cache = tmp_path / "hub_cache"
    repo = cache / "models--user--figclip-tiny"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name in files_to_upload(str(out)):
        shutil.copy(out / name, snapshot / name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = FigClipModel.from_pretrained("user/figclip-tiny", cache_dir=str(cache))
    local = FigClipModel.from_pretrained(out)
    pixels = torch.randn(1, 5, 4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.get_video_features(pixels).vc_video_embeds, local.get_video_features(pixels).vc_video_embeds)
    from modeling_figclip.loading import load_model_for_inference

    loaded = load_model_for_inference("user/figclip-tiny", cache_dir=str(cache))
    assert loaded.kind == "figclip-adapter"


@pytest.mark.slow
def test_gradient_checkpointing_bf16_and_accumulation_run(assets, tmp_path):
    """Memory/precision switches run end to end (bf16 autocast works on CPU) and still move the adapter."""
    out = tmp_path / "run"
    result = run(small_run_args(assets, out, max_steps=2, gradient_checkpointing="true", mixed_precision="bf16",
                                gradient_accumulation_steps=2, per_device_train_batch_size=2, eval_split="None"))
    assert result.global_step == 2
    saved = load_file(out / "adapter_model.safetensors")
    assert any(v.abs().sum() > 0 for k, v in saved.items() if "lora_B" in k)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    records = [r for r in records if "train_loss" in r]  # (the text cache's per-epoch record is the other kind)
    assert [r["step"] for r in records] == [1, 2] and all(r["train_loss"] > 0 for r in records)


def test_interrupted_checkpoint_writes_never_shadow_the_last_complete_checkpoint(tmp_path):
    """Saves go to `checkpoint-N.tmp` and are renamed when complete (trainer_state.json written last), so a crash
    mid-save leaves a `.tmp` folder (or a folder without trainer state) that `latest` skips."""
    from modeling_figclip.training.trainer import TRAINER_STATE_FILE, resolve_checkpoint

    complete = tmp_path / "checkpoint-2"
    complete.mkdir()
    (complete / TRAINER_STATE_FILE).write_text("{}")
    (tmp_path / "checkpoint-4.tmp").mkdir()  # crashed while saving step 4
    (tmp_path / "checkpoint-6").mkdir()  # a copy interrupted before its trainer state landed
    (tmp_path / "checkpoint-6" / "optimizer.bin").write_text("partial")
    assert resolve_checkpoint(str(tmp_path), "latest") == str(complete)
    assert resolve_checkpoint(str(tmp_path / "none"), "latest") is None


def _videos_with_corruption(assets, tmp_path, corrupt):
    """A copy of the shared videos where the clips at the given train indices are replaced by garbage bytes."""
    import shutil

    video_dir = tmp_path / "videos"
    shutil.copytree(assets["video_dir"], video_dir)
    with open(os.path.join(assets["vidsitu_dir"], "vidsitu_annotations", "split_files", "vseg_split_train_lb.json")) as f:
        train_ids = json.load(f)
    for index in corrupt:
        (video_dir / f"{train_ids[index]}.mp4").write_bytes(b"not an mp4 at all")
    return str(video_dir)


@pytest.mark.slow
def test_lenient_mode_trains_past_unreadable_videos_and_records_them(assets, tmp_path, capsys):
    """--strict false: corrupt clips lose all their events, leave the loss, are counted per reason, printed, and land
    in train_results.json and the model card; training reaches its step count."""
    out = tmp_path / "run"
    video_dir = _videos_with_corruption(assets, tmp_path, corrupt=[0, 1, 2, 3, 5])
    result = run(small_run_args(assets, out, video_dir=video_dir, strict="false", max_steps=6, eval_split="None",
                                num_train_epochs=1))
    assert result.global_step == 6
    report = json.loads((out / "train_results.json").read_text())["skipped"]
    assert report["strict"] is False
    assert report["training"]["videos_without_frames"]["corrupt_video"] >= 5  # every epoch reads them again
    assert report["preparation"]["train"]["clips_kept"] == 12
    printed = capsys.readouterr().out
    assert "lenient mode during training" in printed and "VidSitu train: kept 12/12 clips" in printed
    assert "corrupt_video" in (out / "README.md").read_text()


@pytest.mark.slow
def test_lenient_mode_with_every_video_unreadable_stops_with_one_clear_error(assets, tmp_path):
    video_dir = _videos_with_corruption(assets, tmp_path, corrupt=range(12))
    with pytest.raises(SystemExit) as info:
        run(small_run_args(assets, tmp_path / "run", video_dir=video_dir, strict="false", eval_split="None"))
    message = str(info.value.code)
    assert message.startswith("error: Every batch of epoch 0 was skipped") and "corrupt_video" in message
