"""`recipes/train_figclip.py` tried as a new user would: every mistake ends in one line `error: …` naming the flag and
what is allowed, before any training starts, and data flags are never silently ignored for the toy demo."""

import json
import os
import subprocess
import sys

import pytest
import torch
from accelerate.tracking import get_available_trackers
from accelerate.utils import LoggerType
from transformers import SchedulerType, get_scheduler

from training_assets import small_run_args
from dataset_scripts.vidsitu.negatives import PROMPT_STYLES
from dataset_scripts.vidsitu.schema import ANNOTATED_SPLITS
from modeling_figclip import LORA_TARGETS, preflight
from modeling_figclip.training.arguments import LR_SCHEDULERS, SCHEDULERS_NEEDING_MORE

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "recipes", "train_figclip.py")
sys.path.insert(0, os.path.join(REPO, "recipes"))
import train_figclip  # noqa: E402


def run(argv):
    # Accelerate's state is a per-process singleton; each run here plays a fresh `accelerate launch`.
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    return train_figclip.main(argv)


def error_of(argv) -> str:
    """The message the recipe exits with (it must exit, with one `error: …` line)."""
    with pytest.raises(SystemExit) as info:
        run(argv)
    message = str(info.value.code)
    assert message.startswith("error: ") and "\n" not in message, message
    return message


# ------------------------------------------------------------------------------------------- embedded default
@pytest.mark.parametrize(
    "argv",
    [["--vidsitu-dir", "DATA"], ["--vidsitu_dir", "DATA"], ["--vidsitu_dir=DATA"], ["--vidsitu-dir=DATA"],
     ["--config", "recipe.yaml"], ["--lora_r", "4", "--vidsitu-dir", "DATA", "--video-dir", "DATA/videos"]],
)
def test_a_recipe_or_a_vidsitu_folder_however_spelled_is_not_the_toy_demo(argv):
    assert not train_figclip.wants_embedded_default(argv)


@pytest.mark.parametrize("argv", [[], ["--seeds", "0,1"], ["--ablation", "no_contextualizer", "--lora_r", "8"]])
def test_no_recipe_and_no_vidsitu_folder_is_the_toy_demo(argv):
    assert train_figclip.wants_embedded_default(argv)


@pytest.mark.parametrize("flag", ["--video-dir", "--video_dir", "--frames_dir", "--frame-cache"])
def test_data_folders_without_a_vidsitu_folder_are_an_error_not_ignored(flag, tmp_path):
    message = error_of([flag, str(tmp_path)])
    assert f"--{flag.lstrip('-').replace('-', '_')} given without --vidsitu_dir" in message


def test_hyphenated_flags_train_on_the_given_data(assets, tmp_path):
    argv = [arg.replace("_", "-") if arg.startswith("--") else arg
            for arg in small_run_args(assets, tmp_path / "out", max_steps=1, eval_split="none")]
    assert "--vidsitu-dir" in argv and "--video-dir" in argv
    result = run(argv)
    assert result.global_step == 1 and os.path.isfile(tmp_path / "out" / "adapter_model.safetensors")
    used = json.loads((tmp_path / "out" / "run_config.json").read_text())["data_args"]
    assert (used["vidsitu_dir"], used["video_dir"]) == (assets["vidsitu_dir"], assets["video_dir"])


# ------------------------------------------------------------------------------------------- refused values
@pytest.mark.parametrize(
    "flag,value,allowed",
    [
        ("per_device_train_batch_size", "0", [">= 1"]),
        ("per_device_eval_batch_size", "0", [">= 1"]),
        ("gradient_accumulation_steps", "0", [">= 1"]),
        ("prompt_style", "fancy", list(PROMPT_STYLES)),
        ("train_split", "tarin", list(ANNOTATED_SPLITS)),
        ("eval_split", "testsrl", list(ANNOTATED_SPLITS)),
        ("lr_scheduler_type", "cosinus", list(LR_SCHEDULERS)),
        ("report_to", "tensorbord", LoggerType.list()),
        ("report_to", "tensorboard,wandbb", LoggerType.list()),
        ("lora_r", "0", [">= 1"]),
        ("lora_dropout", "1.5", ["[0, 1)"]),
        ("lora_targets", "vision_qkvz", list(LORA_TARGETS)),
        ("lora_targets", "vision_model.(q_proj", list(LORA_TARGETS)),
        ("mixed_precision", "fp8", ["no", "bf16", "fp16"]),
        ("max_train_clips", "0", [">= 1"]),
    ],
)
def test_refused_value_names_the_flag_and_what_is_allowed(assets, tmp_path, flag, value, allowed):
    message = error_of(small_run_args(assets, tmp_path / "out", **{flag: value}))
    assert f"--{flag}" in message and value.split(",")[-1] in message, message
    assert all(choice in message for choice in allowed), message


def test_a_value_of_the_wrong_type_is_one_line_without_the_usage(assets, tmp_path):
    message = error_of(small_run_args(assets, tmp_path / "out", lora_r="abc"))
    assert "--lora_r" in message and "invalid int value: 'abc'" in message and "usage:" not in message


@pytest.mark.parametrize("name", sorted(SCHEDULERS_NEEDING_MORE))
def test_schedulers_this_loop_cannot_drive_are_refused_with_the_reason(assets, tmp_path, name):
    message = error_of(small_run_args(assets, tmp_path / "out", lr_scheduler_type=name))
    assert f"--lr_scheduler_type {name} needs {SCHEDULERS_NEEDING_MORE[name]}" in message


def test_every_accepted_scheduler_runs_as_the_trainer_calls_it():
    assert set(LR_SCHEDULERS) | set(SCHEDULERS_NEEDING_MORE) == {kind.value for kind in SchedulerType}
    for name in LR_SCHEDULERS:
        optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
        scheduler = get_scheduler(name, optimizer, num_warmup_steps=1, num_training_steps=4)
        optimizer.step()
        scheduler.step()  # the trainer passes no metric and no extra kwargs


def test_a_tracker_that_is_not_installed_is_an_error(assets, tmp_path):
    installed = {str(tracker) for tracker in get_available_trackers()}
    missing = [name for name in LoggerType.list() if name != "all" and name not in installed]
    if not missing:
        pytest.skip("every Accelerate tracker is installed here")
    message = error_of(small_run_args(assets, tmp_path / "out", report_to=missing[0]))
    assert f"--report_to {missing[0]}: not installed here" in message


def test_help_shows_help_texts_with_a_percent_sign(capsys):
    with pytest.raises(SystemExit) as info:
        run(["--help"])
    assert info.value.code == 0
    assert "{clip_id}_%06d.jpg" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------- folders and models
def test_an_output_dir_below_a_file_is_refused_before_training(assets, tmp_path):
    (tmp_path / "a_file").write_text("")
    message = error_of(small_run_args(assets, tmp_path / "a_file" / "run"))
    target, blocker = tmp_path / "a_file" / "run", tmp_path / "a_file"
    assert message == f"error: --output_dir {target} cannot be used: {blocker} is a file, not a folder."


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_output_dir_in_a_read_only_folder_is_refused(assets, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert f"{locked} is not writable" in error_of(small_run_args(assets, locked / "run"))
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("flag,holds", [("vidsitu_dir", "vidsitu_annotations/"), ("video_dir", "{clip_id}.mp4")])
def test_missing_data_folders_are_named(assets, tmp_path, flag, holds):
    message = error_of(small_run_args(assets, tmp_path / "out", **{flag: str(tmp_path / "nowhere")}))
    assert f"--{flag} {tmp_path / 'nowhere'} does not exist" in message and holds in message


def test_an_uncached_hub_model_while_offline_names_the_id_and_the_offline_mode(assets, tmp_path, monkeypatch):
    monkeypatch.setattr(preflight, "is_offline_mode", lambda: True)
    message = error_of(small_run_args(assets, tmp_path / "out", model_name_or_path="someone/not-cached-clip"))
    assert "--model_name_or_path someone/not-cached-clip" in message and "offline (HF_HUB_OFFLINE=1)" in message
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_a_local_model_is_not_taken_for_an_uncached_hub_id(assets, monkeypatch):
    monkeypatch.setattr(preflight, "is_offline_mode", lambda: True)
    assert preflight.offline_hub_model_problem(assets["base_dir"], "--model_name_or_path") is None


def test_lenient_mode_with_every_clip_skipped_is_one_clear_error(assets, tmp_path):
    empty = tmp_path / "no_videos"
    empty.mkdir()
    message = error_of(small_run_args(assets, tmp_path / "out", video_dir=str(empty), strict="false"))
    assert message.startswith("error: --train_split train: --strict false skipped every clip (12 missing_video)")


def test_resume_latest_without_a_checkpoint_is_an_error(assets, tmp_path):
    message = error_of(small_run_args(assets, tmp_path / "out", resume_from_checkpoint="latest"))
    assert message == (
        f"error: --resume_from_checkpoint latest: {tmp_path / 'out'} holds no checkpoint-N folder to resume from; "
        "drop the flag to start a new run."
    )


# ------------------------------------------------------------------------------------------- Hub upload
def test_push_to_hub_offline_is_refused_before_training(assets, tmp_path, monkeypatch):
    monkeypatch.setattr(preflight, "is_offline_mode", lambda: True)
    message = error_of(small_run_args(assets, tmp_path / "out", push_to_hub="true", hub_model_id="me/figclip"))
    assert message.startswith("error: --push_to_hub: this machine is offline (HF_HUB_OFFLINE=1)")
    assert not (tmp_path / "out" / "metrics.jsonl").exists()


def test_push_to_hub_without_a_token_is_refused_before_training(assets, tmp_path, monkeypatch):
    monkeypatch.setattr(preflight, "is_offline_mode", lambda: False)
    monkeypatch.setattr(preflight, "get_token", lambda: None)
    message = error_of(small_run_args(assets, tmp_path / "out", push_to_hub="true", hub_model_id="me/figclip"))
    assert "--push_to_hub: no Hugging Face token found" in message and "HF_TOKEN" in message


def test_push_to_hub_problems_with_the_token_and_the_namespace(monkeypatch):
    monkeypatch.setattr(preflight, "is_offline_mode", lambda: False)
    monkeypatch.setattr(preflight, "get_token", lambda: "hf_token")

    def refused(token):
        raise RuntimeError("401 Client Error: Unauthorized\nInvalid credentials")

    monkeypatch.setattr(preflight, "whoami", refused)
    assert preflight.hub_push_problem("me/figclip") == (
        "--push_to_hub: the Hub did not accept the token (401 Client Error: Unauthorized)."
    )
    monkeypatch.setattr(preflight, "whoami", lambda token: {"name": "me", "orgs": [{"name": "lab"}]})
    assert preflight.hub_push_problem("me/figclip") is None
    assert preflight.hub_push_problem("lab/figclip") is None
    assert preflight.hub_push_problem("figclip") is None  # the account's own namespace
    assert "cannot write to 'openai' (writable: lab, me)" in preflight.hub_push_problem("openai/figclip")
    assert "is not a Hub repo id" in preflight.hub_push_problem("me/fig clip")


# ------------------------------------------------------------------------------------------- the real console
@pytest.mark.slow
def test_the_console_shows_one_error_line_and_no_traceback(assets, tmp_path):
    env = {**os.environ, "PYTHONPATH": REPO, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, SCRIPT, *small_run_args(assets, tmp_path / "out", prompt_style="fancy")],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    lines = [line for line in result.stderr.splitlines() if line.strip() and "Warning" not in line]
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert lines[-1].startswith("error: --prompt_style must be one of srl") and len(
        [line for line in lines if line.startswith("error:")]) == 1
