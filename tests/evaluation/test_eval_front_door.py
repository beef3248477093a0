"""`recipes/evaluate_figclip.py` tried as a new user would: what would fail late (a device the machine lacks, an
output path that cannot be written, a Hub model not cached offline) is one line `error: …` before any model loads."""

import importlib.util
import os
import subprocess
import sys

import pytest
import torch

from modeling_figclip import preflight
from modeling_figclip.evaluation import runner

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "recipes", "evaluate_figclip.py")


class ModelLoadReached(Exception):
    """Raised instead of loading a model: the run got past every check."""


@pytest.fixture(scope="module")
def recipe():
    spec = importlib.util.spec_from_file_location("evaluate_figclip_front_door", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def no_model_loading(monkeypatch):
    def reached(*args, **kwargs):
        raise ModelLoadReached

    monkeypatch.setattr(runner, "load_encoder", reached)  # the suite loads through runner too


@pytest.fixture()
def task_argv(tmp_path):
    """A sugarcrepe run on a local 'model' folder: everything the checks look at is valid."""
    (tmp_path / "model").mkdir()
    return ["--model", str(tmp_path / "model"), "--task", "sugarcrepe", "--data_dir", str(tmp_path / "data"),
            "--show_progress", "false"]


def error_of(recipe, argv, capsys) -> str:
    """The recipe's one stderr line (exit status 2)."""
    assert recipe.cli(argv) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_valid_arguments_get_past_every_check(recipe, task_argv, tmp_path, no_model_loading):
    with pytest.raises(ModelLoadReached):
        recipe.cli([*task_argv, "--device", "cpu", "--output", str(tmp_path / "new" / "results.json")])


def test_device_cuda_without_cuda(recipe, task_argv, capsys, monkeypatch, no_model_loading):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert error_of(recipe, [*task_argv, "--device", "cuda"], capsys) == (
        "error: --device cuda: CUDA is not available on this machine; use --device cpu (or leave --device unset)."
    )


def test_device_index_beyond_the_machine(recipe, task_argv, capsys, monkeypatch, no_model_loading):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    message = error_of(recipe, [*task_argv, "--device", "cuda:2"], capsys)
    assert message == "error: --device cuda:2: this machine has 2 cuda device(s), cuda:0 to cuda:1."


def test_device_that_is_no_device_name(recipe, task_argv, capsys, no_model_loading):
    message = error_of(recipe, [*task_argv, "--device", "gpu"], capsys)
    assert message.startswith("error: --device 'gpu' is not a device name; use cpu, cuda or cuda:N")


@pytest.mark.parametrize("flag", ["--output", "--predictions_file"])
def test_an_output_file_below_a_file_is_refused_before_evaluating(recipe, task_argv, tmp_path, capsys, flag,
                                                                   no_model_loading):
    (tmp_path / "a_file").write_text("")
    target = tmp_path / "a_file" / "results.json"
    message = error_of(recipe, [*task_argv, flag, str(target)], capsys)
    assert message == f"error: {flag} {target} cannot be written: {tmp_path / 'a_file'} is a file, not a folder."


def test_an_output_that_is_a_folder_is_refused(recipe, task_argv, tmp_path, capsys, no_model_loading):
    message = error_of(recipe, [*task_argv, "--output", str(tmp_path)], capsys)
    assert message.startswith(f"error: --output {tmp_path} is a folder; give a file name")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_output_in_a_read_only_folder_is_refused(recipe, task_argv, tmp_path, capsys, no_model_loading):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        message = error_of(recipe, [*task_argv, "--output", str(locked / "results.json")], capsys)
        assert f"{locked} is not writable" in message
    finally:
        locked.chmod(0o700)


def test_a_suite_output_dir_below_a_file_is_refused_before_loading(recipe, tmp_path, capsys, no_model_loading):
    (tmp_path / "a_file").write_text("")
    argv = ["--suite", str(tmp_path / "suite.yaml"), "--output_dir", str(tmp_path / "a_file" / "x")]
    message = error_of(recipe, argv, capsys)
    assert message.startswith(f"error: --output_dir {tmp_path / 'a_file' / 'x'} cannot be used")


def test_an_uncached_hub_model_while_offline(recipe, task_argv, capsys, monkeypatch, no_model_loading):
    monkeypatch.setattr(preflight, "is_offline_mode", lambda: True)
    argv = [*task_argv[:1], "someone/not-cached-clip", *task_argv[2:]]
    message = error_of(recipe, argv, capsys)
    assert message.startswith("error: --model someone/not-cached-clip: this Hub model is not in the local Hugging Face "
                              "cache and this machine is offline (HF_HUB_OFFLINE=1)")


def test_a_usage_error_is_one_line_without_the_usage(recipe, task_argv, capsys):
    message = error_of(recipe, [*task_argv, "--ties", "sometimes"], capsys)
    assert "argument --ties: invalid choice: 'sometimes'" in message and "usage:" not in message


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_the_console_shows_one_error_line_and_no_traceback(task_argv):
    result = subprocess.run([sys.executable, SCRIPT, *task_argv, "--device", "cuda"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": REPO}, cwd=REPO, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: --device cuda: CUDA is not available")
