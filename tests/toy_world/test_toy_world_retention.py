"""`recipes/toy/run_retention.py` and `retention_front.py` on synthetic item tables (no training, no evaluation):
differences to the base with paired intervals, the Pareto front, the goal, the α = 1 row from a run's own tables,
the score cache, and the option recipes as toy overrides."""

import json
import os
import sys

import numpy as np
import pytest

from modeling_figclip.cli_utils import RecipeError
from modeling_figclip.evaluation.bootstrap import ItemTable, Mean

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.path.join(REPO, "recipes", "toy") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, "recipes", "toy"))

import run_retention  # noqa: E402
from toy_report import WorldScores, write_item_tables  # noqa: E402

ITEMS = 100
BASE = {"role_swap": 50.0, "verb_replace": 30.0, "attribute_swap": 60.0, "web_R@1": 40.0}
ASSETS = {"manifest": {"fingerprint": "world-1", "digests": {"benchmarks": "bench-1"}},
          "base_report": {"cache_key": "base-1"}, "base_dir": "base", "benchmarks_dir": "benchmarks"}


def scores(levels):
    """A model whose accuracy on each metric's 100 items is `levels[metric]` % (the first items correct)."""
    tables = {}
    for key, level in levels.items():
        correct = np.arange(ITEMS) < round(level * ITEMS / 100)
        tables[key] = ItemTable(key, {"correct": correct}, {key: Mean("correct")}, items_digest=f"{key}-items")
    return WorldScores({k: float(v) for k, v in levels.items()}, tables)


def moved(gains, alpha):
    """The base moved by `alpha` × `gains` (percentage points per metric)."""
    return scores({k: BASE[k] + alpha * gains.get(k, 0.0) for k in BASE})


#: Per seed, what the paper's adapter changes at α = 1: role +20/+24/+28, verb +8, attribute −8, web −12.
FIGCLIP = {seed: {"role_swap": 20.0 + 4 * seed, "verb_replace": 8.0, "attribute_swap": -8.0, "web_R@1": -12.0}
           for seed in range(3)}
#: A retention option that keeps most of the role gain and nearly all web retrieval.
REPLAY = {seed: {"role_swap": 21.0, "verb_replace": 6.0, "attribute_swap": -2.0, "web_R@1": -1.0} for seed in range(3)}


def write_run(run_dir, gains, seeds=(0, 1, 2)):
    """A toy run folder as `run_toy_demo` leaves it: report.json, one adapter per seed, item_tables.json."""
    os.makedirs(run_dir, exist_ok=True)
    for seed in seeds:
        seed_dir = os.path.join(run_dir, f"seed_{seed}") if len(seeds) > 1 else run_dir
        os.makedirs(seed_dir, exist_ok=True)
        with open(os.path.join(seed_dir, "adapter_model.safetensors"), "wb") as handle:
            handle.write(f"{run_dir} {seed}".encode())  # distinct digests
    report = {"seeds": list(seeds), "settings": {"world_fingerprint": "world-1",
                                                  "base_pretraining": {"cache_key": "base-1"}}}
    with open(os.path.join(run_dir, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle)
    write_item_tables(run_dir, scores(BASE), {seed: moved(gains[seed], 1.0) for seed in seeds})
    return run_dir


@pytest.fixture
def fake_world(monkeypatch, tmp_path):
    """The toy demo's world, base and evaluator replaced by synthetic scores; returns the evaluator's calls."""
    calls = []

    def evaluate_on_world(adapter_dir, benchmarks_dir, batch_size, keys=None, text_caches=None, adapter_scale=None,
                          feature_ensemble=None):
        run_dir, seed_dir = os.path.split(os.path.normpath(adapter_dir))
        gains = FIGCLIP if os.path.basename(run_dir) == "figclip" else REPLAY
        seed_gains = gains[int(seed_dir.removeprefix("seed_"))]
        if feature_ensemble is not None:  # synthetic: the ensemble keeps role gains linearly, web losses squared
            calls.append((os.path.basename(run_dir), seed_dir, "ensemble", feature_ensemble))
            lam = feature_ensemble
            return scores({k: BASE[k] + (lam * lam if k == "web_R@1" else lam) * seed_gains.get(k, 0.0) for k in BASE})
        calls.append((os.path.basename(run_dir), seed_dir, adapter_scale))
        return moved(seed_gains, adapter_scale)

    monkeypatch.setattr(run_retention.toy_demo, "prepare_world_and_base", lambda settings, log=print: ASSETS)
    monkeypatch.setattr(run_retention.toy_demo, "evaluate_base_cached", lambda *a, **k: scores(BASE))
    monkeypatch.setattr(run_retention.toy_demo, "evaluate_on_world", evaluate_on_world)
    replay_dir = write_run(str(tmp_path / "trained" / "replay"), REPLAY)
    monkeypatch.setattr(run_retention, "train_option", lambda name, *a, **k: replay_dir)
    return calls


def test_front_table_goal_and_cache_from_synthetic_runs(fake_world, tmp_path):
    figclip_dir = write_run(str(tmp_path / "figclip"), FIGCLIP)
    output_dir = str(tmp_path / "front")
    kwargs = dict(runs={"figclip": figclip_dir}, options=["replay"], scales=[0.25, 0.5, 1.0], figclip_argv=[],
                  output_dir=output_dir, log=lambda message: None)
    outcome = run_retention.run_retention(**kwargs)
    by_name = {r.name: r for r in outcome["results"]}
    assert list(by_name) == ["base CLIP α=0", "figclip α=0.25", "figclip α=0.5", "figclip α=1", "replay α=1"]
    # α < 1 is evaluated once per seed; α = 1 and the trained option come from the runs' own item tables.
    assert sorted(fake_world) == sorted(("figclip", f"seed_{s}", a) for s in range(3) for a in (0.25, 0.5))

    half = by_name["figclip α=0.5"]
    assert half.delta == {"role_swap": 12.0, "verb_replace": 4.0, "attribute_swap": -4.0, "web_R@1": -6.0}
    assert half.seed_sd["role_swap"] == pytest.approx(np.std([10, 12, 14]), abs=0.01) and half.seed_sd["web_R@1"] == 0
    for metric, (low, high) in half.delta_ci95.items():
        assert low <= half.delta[metric] <= high and high > low  # paired interval around the mean difference
    assert by_name["figclip α=1"].delta["role_swap"] == 24.0 and by_name["base CLIP α=0"].delta["web_R@1"] == 0.0

    # Pareto front of role_swap against web_R@1: base (no forgetting), replay, the full adapter (most gain).
    assert {n for n, r in by_name.items() if r.front["role_swap"]} == {"base CLIP α=0", "replay α=1", "figclip α=1"}
    assert not by_name["figclip α=0.25"].front["role_swap"]  # replay has more gain and less forgetting
    assert outcome["best"].name == "replay α=1" and by_name["replay α=1"].meets_goal()
    assert not any(r.meets_goal() for n, r in by_name.items() if n != "replay α=1")

    table = open(os.path.join(output_dir, "retention.md"), encoding="utf-8").read()
    assert "| replay | 1 | 3 | +21.0 [" in table and "| figclip | 0.5 | 3 | +12.0 [" in table and "| ✓ |" in table
    saved = json.load(open(os.path.join(output_dir, "retention.json"), encoding="utf-8"))
    assert saved["best_role_swap_within_retention_goal"] == "replay α=1" and len(saved["settings"]) == 5
    assert os.path.getsize(os.path.join(output_dir, "retention.png")) > 0

    fake_world.clear()
    again = run_retention.run_retention(**kwargs)  # every α < 1 score is read back from {output_dir}/scores
    assert fake_world == [] and [r.delta for r in again["results"]] == [r.delta for r in outcome["results"]]


def test_feature_ensemble_rows_are_named_scored_and_cached_apart_from_alpha(fake_world, tmp_path):
    figclip_dir = write_run(str(tmp_path / "figclip"), FIGCLIP)
    kwargs = dict(runs={"figclip": figclip_dir}, options=["replay"], scales=[0.5, 1.0], figclip_argv=[],
                  output_dir=str(tmp_path / "front"), ensemble_weights=[0.5, 1.0], option_ensemble_weights=[0.5],
                  log=lambda message: None)
    outcome = run_retention.run_retention(**kwargs)
    by_name = {r.name: r for r in outcome["results"]}
    # λ = 1 is the adapter itself (the α = 1 row), so it is not scored again.
    assert list(by_name) == ["base CLIP α=0", "figclip α=0.5", "figclip α=1", "figclip+ensemble α=0.5", "replay α=1",
                             "replay+ensemble α=0.5"]
    assert sorted(c for c in fake_world if "ensemble" in c) == sorted(
        (run, f"seed_{s}", "ensemble", 0.5) for run in ("figclip", "replay") for s in range(3))
    # Same value, other read-out: α = 0.5 and λ = 0.5 are scored and cached separately.
    assert by_name["figclip α=0.5"].delta["web_R@1"] == -6.0
    assert by_name["figclip+ensemble α=0.5"].delta == {"role_swap": 12.0, "verb_replace": 4.0,
                                                        "attribute_swap": -4.0, "web_R@1": -3.0}
    names = sorted(os.listdir(tmp_path / "front" / "scores"))
    assert sum("_ensemble0.5" in n for n in names) == 6 and sum("_alpha0.5" in n for n in names) == 3
    fake_world.clear()
    again = run_retention.run_retention(**kwargs)
    assert fake_world == [] and [r.delta for r in again["results"]] == [r.delta for r in outcome["results"]]
    assert run_retention.parse_weights("none") == [] and run_retention.parse_weights("0.75,0.25") == [0.25, 0.75]


def test_a_run_of_another_world_or_base_is_refused(fake_world, tmp_path):
    figclip_dir = write_run(str(tmp_path / "figclip"), FIGCLIP)
    report_path = os.path.join(figclip_dir, "report.json")
    report = json.load(open(report_path))
    report["settings"]["world_fingerprint"] = "another-world"
    json.dump(report, open(report_path, "w"))
    with pytest.raises(RecipeError, match="another world"):
        run_retention.run_retention({"figclip": figclip_dir}, [], [0.5], [], str(tmp_path / "out"),
                                    log=lambda message: None)
    with pytest.raises(RecipeError, match="No toy-world report"):
        run_retention.read_run(str(tmp_path / "nowhere"), ASSETS)


def test_scales_runs_and_option_recipes_as_toy_overrides():
    assert run_retention.parse_scales("1,0.25, 0.5,0.5") == [0.25, 0.5, 1.0]
    for bad in ("", "1.5", "a"):
        with pytest.raises(RecipeError, match="--adapter_scales"):
            run_retention.parse_scales(bad)
    assert run_retention.parse_runs("a=x, b=y/z") == {"a": "x", "b": "y/z"} and run_retention.parse_runs("none") == {}
    with pytest.raises(RecipeError, match="NAME=DIR"):
        run_retention.parse_runs("just_a_dir")
    assert {"distill_features", "distill_similarities", "replay", "distill_replay"} <= set(
        run_retention.available_options())
    with pytest.raises(RecipeError, match="Unknown retention option 'nope'"):
        run_retention.option_overrides("nope")
    replay = run_retention.option_overrides("distill_replay")
    flags = dict(zip(replay[::2], replay[1::2]))
    assert float(flags["--replay_loss_weight"]) > 0 and float(flags["--distillation_weight"]) > 0
    assert "--generic_dataset" not in flags and "--learning_rate" not in flags  # only what the option changes
    swept = run_retention.option_overrides("distill_features:distillation_weight=30:lora_r=16")
    assert swept[-4:] == ["--distillation_weight", "30", "--lora_r", "16"]  # after the recipe's: they win
    assert swept[:-4] == run_retention.option_overrides("distill_features")
    with pytest.raises(RecipeError, match="field=value"):
        run_retention.option_overrides("distill_features:distillation_weight")
    argv = run_retention.option_argv("replay:replay_loss_weight=1", [], "out", "outputs/toy_world")
    assert argv[-1] == os.path.join("out", "replay__replay_loss_weight-1")
    argv = run_retention.option_argv("replay", ["--seeds", "0"], "out", "outputs/toy_world")
    assert argv[argv.index("--generic_dataset") + 1] == os.path.join("outputs/toy_world", "pretrain_web")
    assert argv[-2:] == ["--output_dir", os.path.join("out", "replay")] and "--seeds" in argv
