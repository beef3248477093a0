"""The embedded default (toy-world demo) end to end at miniature scale, and its ablations."""

import json
import os

import pytest
from accelerate.state import AcceleratorState, PartialState

import toy_demo
from toy_demo import (
    HEADLINE,
    REPORT_METRICS,
    ToyDemoSettings,
    ablation_overrides,
    available_ablations,
    chance_levels,
)
from toy_report import render_ablation_tables, seed_spread

from modeling_figclip.cli_utils import RecipeError

MINI_WORLD_AND_BASE = [
    "--num_pretrain_clips", "6", "--pretrain_frames_per_event", "1", "--num_train_clips", "4", "--num_valid_clips", "2",
    "--num_benchmark_clips", "16", "--num_workers", "1",
    "--max_steps", "2", "--batch_size", "8", "--warmup_steps", "1", "--vision_layers", "1", "--text_layers", "1",
    "--vision_width", "32", "--text_width", "32", "--projection_dim", "32", "--attention_heads", "2",
]
MINI_FIGCLIP = [
    "--max_steps", "2", "--per_device_train_batch_size", "2", "--per_device_eval_batch_size", "2", "--eval_steps", "0",
    "--logging_steps", "1", "--report_to", "none", "--lora_r", "4", "--vc_num_layers", "1", "--vc_num_attention_heads",
    "2", "--warmup_steps", "0",
]


def _fresh_accelerate_state():
    AcceleratorState._reset_state(reset_partial_state=True)
    PartialState._reset_state()


@pytest.fixture(scope="module")
def mini_settings(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy_demo")
    return ToyDemoSettings(world_dir=str(root / "world"), base_dir=str(root / "world" / "base_clip"), eval_batch_size=16,
                           base_args=MINI_WORLD_AND_BASE)


@pytest.mark.slow
def test_default_demo_writes_the_report_the_issue_asks_for(mini_settings, tmp_path):
    _fresh_accelerate_state()
    output_dir = str(tmp_path / "run")
    report = toy_demo.run_toy_demo([*MINI_FIGCLIP, "--output_dir", output_dir], settings=mini_settings,
                                   log=lambda message: None)
    with open(os.path.join(output_dir, "report.json"), encoding="utf-8") as handle:
        saved = json.load(handle)
    assert set(saved) == {"base", "figclip", "figclip_retention", "settings", "seeds", "per_seed", "per_seed_retention",
                          "seed_spread", "ci95"}
    assert saved["base"] == report["base"]
    # The third row: the same adapters read out as the ensemble with their base, with the same keys and intervals.
    assert saved["settings"]["retention"]["feature_ensemble"] == mini_settings.retention_feature_ensemble == 0.25
    for block in ("figclip_retention", "figclip_retention_minus_base"):
        assert set(saved["ci95"][block]) == set(REPORT_METRICS)
    for model in ("base", "figclip", "figclip_retention"):
        assert set(HEADLINE) <= set(saved[model]) and set(saved[model]) == set(REPORT_METRICS)
        assert all(0.0 <= value <= 100.0 for value in saved[model].values())
    # One seed by default (the recipe's), and intervals all the same: every number has one, the difference too.
    assert saved["seeds"] == [42] and saved["per_seed"] == {"42": saved["figclip"]}
    assert all(spread["std"] == 0.0 for spread in saved["seed_spread"].values())
    for block in ("base", "figclip", "figclip_minus_base"):
        assert set(saved["ci95"][block]) == set(REPORT_METRICS)
    for key in REPORT_METRICS:
        for block, value in (("base", saved["base"][key]), ("figclip", saved["figclip"][key])):
            low, high = saved["ci95"][block][key]
            assert low <= high and low - 0.01 <= value <= high + 0.01
    assert "percentile bootstrap" in saved["settings"]["confidence_intervals"]
    settings = saved["settings"]
    assert settings["chance"]["role_swap"] == 50.0 and settings["chance"]["order"] == 20.0
    assert settings["chance"]["web_R@1"] == pytest.approx(100 / 16)  # one caption per benchmark video
    assert settings["figclip_recipe"]["lora_targets"] == "vision_qkv" and settings["figclip_recipe"]["freeze_text_encoder"]
    assert set(settings["timings"]) == {"world_and_base_s", "figclip_training_s", "evaluation_s", "total_s"}
    for name in ("report.md", "report.png", "adapter_model.safetensors", "figclip_config.json"):
        assert os.path.isfile(os.path.join(output_dir, name)), name
    with open(os.path.join(output_dir, "report.md"), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert "FiGCLIP retention (ensemble with the base, λ = 0.25)" in lines[0] and "Δ retention − base" in lines[0]
    row = lines[2]
    low, high = saved["ci95"]["figclip_minus_base"]["role_swap"]
    assert row.startswith("| role_swap |") and f"[{low:+.1f}, {high:+.1f}]" in row
    assert os.path.isfile(os.path.join(output_dir, "item_tables.json"))

    # A second run reuses the world, the base checkpoint and the base's scores.
    _fresh_accelerate_state()
    messages = []
    again = toy_demo.run_toy_demo([*MINI_FIGCLIP, "--output_dir", str(tmp_path / "again"), "--ablation",
                                   "no_hard_negatives"], settings=mini_settings, log=messages.append)
    assert any("reusing the world" in m for m in messages) and any("reusing cached checkpoint" in m for m in messages)
    assert any("reusing the base CLIP's scores" in m for m in messages) and again["base"] == report["base"]
    assert again["settings"]["ablation"] == "no_hard_negatives"
    assert again["settings"]["figclip_recipe"]["num_hard_negatives"] == 0

    # The ablation table can take its full-recipe row from the first run, but only for the recipe that run trained.
    messages = []
    reused = toy_demo.reusable_report(output_dir, MINI_FIGCLIP, settings=mini_settings, log=messages.append)
    assert reused["figclip"] == report["figclip"] and any("reusing the full-recipe run" in m for m in messages)
    with pytest.raises(RecipeError, match="differs in: lora_r"):
        toy_demo.reusable_report(output_dir, [*MINI_FIGCLIP, "--lora_r", "8"], settings=mini_settings, log=print)
    with pytest.raises(RecipeError, match="num_hard_negatives.*ablation"):
        toy_demo.reusable_report(output_dir, [*MINI_FIGCLIP, "--ablation", "no_hard_negatives"], settings=mini_settings,
                                 log=print)
    with pytest.raises(RecipeError, match=r"seeds \(\[42\] vs \[1, 2\]\)"):
        toy_demo.reusable_report(output_dir, [*MINI_FIGCLIP, "--seeds", "1,2"], settings=mini_settings, log=print)

    # A recipe field added after the run was written (absent from its report) ran at its default: not a difference,
    # unless the new run sets it otherwise.
    with open(os.path.join(output_dir, "report.json"), encoding="utf-8") as handle:
        stored = json.load(handle)
    for name in ("distillation_weight", "dataloader_prefetch_factor"):
        stored["settings"]["figclip_recipe"].pop(name)
    with open(os.path.join(output_dir, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(stored, handle)
    assert toy_demo.reusable_report(output_dir, MINI_FIGCLIP, settings=mini_settings, log=print)["seeds"] == [42]
    with pytest.raises(RecipeError, match="differs in: distillation_weight"):
        toy_demo.reusable_report(output_dir, [*MINI_FIGCLIP, "--distillation_weight", "1"], settings=mini_settings,
                                 log=print)


@pytest.mark.slow
def test_several_seeds_report_their_mean_spread_and_paired_intervals(mini_settings, tmp_path):
    _fresh_accelerate_state()
    output_dir = str(tmp_path / "seeds")
    report = toy_demo.run_toy_demo([*MINI_FIGCLIP, "--learning_rate", "1e-2", "--output_dir", output_dir, "--seeds",
                                    "3,4"], settings=mini_settings, log=lambda message: None)
    assert report["seeds"] == [3, 4] and set(report["per_seed"]) == {"3", "4"}
    for seed in (3, 4):  # each seed adapts the same base into its own folder
        assert os.path.isfile(os.path.join(output_dir, f"seed_{seed}", "adapter_model.safetensors"))
    assert report["settings"]["figclip_adapters"]["3"].endswith("seed_3")
    for key in REPORT_METRICS:
        per_seed = [report["per_seed"][s][key] for s in ("3", "4")]
        assert report["figclip"][key] == pytest.approx(sum(per_seed) / 2, abs=0.01)
        spread = report["seed_spread"][key]
        assert (spread["min"], spread["max"]) == (min(per_seed), max(per_seed))
        assert spread["std"] == pytest.approx(abs(per_seed[0] - per_seed[1]) / 2, abs=0.01)
        low, high = report["ci95"]["figclip_minus_base"][key]
        assert low - 0.01 <= report["figclip"][key] - report["base"][key] <= high + 0.01
    with open(os.path.join(output_dir, "report.md"), encoding="utf-8") as handle:
        markdown = handle.read()
    assert "FiGCLIP (mean of 2 seeds)" in markdown and "FiGCLIP over seeds: sd (min–max)" in markdown
    with pytest.raises(RecipeError, match="either as --seed or as --seeds"):
        toy_demo.run_toy_demo([*MINI_FIGCLIP, "--seed", "1", "--seeds", "1,2"], settings=mini_settings, log=print)


def test_ablation_overrides_come_from_the_shipped_ablation_recipes():
    assert set(toy_demo.DEFAULT_ABLATIONS) <= set(available_ablations())
    assert ablation_overrides("no_hard_negatives") == ["--num_hard_negatives", "0"]
    assert ablation_overrides("no_contextualizer") == ["--use_contextualizer", "false"]
    assert ablation_overrides("clip_level_losses_only") == ["--use_vc_event_loss", "false", "--use_vc_video_loss", "false"]
    for name in available_ablations():  # every shipped ablation changes something, and never where outputs go
        overrides = ablation_overrides(name)
        assert overrides and "--output_dir" not in overrides
    with pytest.raises(RecipeError, match="Unknown ablation 'no_such'.*no_hard_negatives"):
        ablation_overrides("no_such")


def test_chance_levels_are_read_in_percent(tmp_path):
    summary = {"role_swap": {"chance": 50.0}, "order": {"chance": 20.0}, "web_retrieval": {"chance": 0.25}}
    (tmp_path / "benchmarks.json").write_text(json.dumps(summary))
    levels = chance_levels(str(tmp_path))
    assert levels["role_swap"] == 50.0 and levels["order"] == 20.0 and levels["web_R@1"] == 0.25


def _fake_report(base: dict, per_seed: dict[str, dict]) -> dict:
    figclip = {k: sum(run[k] for run in per_seed.values()) / len(per_seed) for k in base}
    interval = {k: [v - 1.0, v + 1.0] for k, v in figclip.items()}
    return {"base": base, "figclip": figclip, "seeds": [int(s) for s in per_seed], "per_seed": per_seed,
            "seed_spread": seed_spread(per_seed),
            "ci95": {"base": {k: [v - 1.0, v + 1.0] for k, v in base.items()}, "figclip": interval,
                     "figclip_minus_base": {k: [v - base[k] - 2.0, v - base[k] + 2.0] for k, v in figclip.items()}}}


def test_ablation_tables_show_intervals_and_differences_to_base_and_full_recipe():
    base = {key: 50.0 for key in REPORT_METRICS}
    reports = {"figclip": _fake_report(base, {"0": {**base, "role_swap": 79.0}, "1": {**base, "role_swap": 81.0}}),
               "no_hard_negatives": _fake_report(base, {"0": {**base, "role_swap": 70.0},
                                                        "1": {**base, "role_swap": 70.0}})}
    versus_full = {"no_hard_negatives": {k: [-12.0, -8.0] for k in REPORT_METRICS}}
    lines = render_ablation_tables(reports, HEADLINE, versus_full).splitlines()
    values = lines[1:6]
    assert values[0].startswith("| run | role_swap | attribute_swap | verb_replace | order | web_R@1 |")
    assert [line.split(" | ")[0] for line in values[2:]] == ["| base CLIP", "| figclip", "| no_hard_negatives"]
    assert values[3].split(" | ")[1] == "80.0 [79.0, 81.0]" and values[4].split(" | ")[1] == "70.0 [69.0, 71.0]"
    deltas = lines[lines.index("Difference to the base CLIP, paired [95% CI] (sd: over seeds):") + 3]
    assert deltas.split(" | ")[1] == "+30.0 [+28.0, +32.0] sd 1.0"
    full = lines[lines.index("Difference to the full FiGCLIP recipe, paired [95% CI]:") + 3]
    assert full.startswith("| no_hard_negatives | -10.0 [-12.0, -8.0] |")


def test_ablation_differences_pair_each_ablation_with_the_full_recipe(tmp_path):
    import numpy as np

    from modeling_figclip.evaluation.bootstrap import ItemTable, Mean
    from toy_report import WorldScores, write_item_tables

    def scores(correct):
        table = ItemTable("role_swap", {"c": np.asarray(correct, dtype=float)}, {"role_swap": Mean("c")},
                          items_digest="benchmark items")
        return WorldScores(table.evaluate(), {"role_swap": table})

    base = scores([0] * 100)
    full = {0: scores([1] * 80 + [0] * 20), 1: scores([1] * 82 + [0] * 18)}
    ablated = {0: scores([1] * 60 + [0] * 40), 1: scores([1] * 62 + [0] * 38)}  # 20 items fewer right, same items
    for name, runs in (("figclip", full), ("no_hard_negatives", ablated)):
        (tmp_path / name).mkdir()
        write_item_tables(str(tmp_path / name), base, runs)
    found = toy_demo.ablation_differences({"figclip": str(tmp_path / "figclip"),
                                           "no_hard_negatives": str(tmp_path / "no_hard_negatives")})
    low, high = found["no_hard_negatives"]["role_swap"]
    assert low <= -20.0 <= high < 0.0  # paired: every resample sees the ablation lose (how many of those 20 it draws)


def test_demo_flags_are_split_off_the_recipe_flags():
    rest, ablation, base_steps, seeds = toy_demo._pop_demo_flags(
        ["--max_steps", "5", "--ablation", "no_contextualizer", "--base_max_steps", "7", "--lora_r", "8", "--seeds",
         "0,1,2"])
    assert rest == ["--max_steps", "5", "--lora_r", "8"] and ablation == "no_contextualizer" and base_steps == 7
    assert seeds == [0, 1, 2]
    assert toy_demo._pop_demo_flags(["--max_steps", "5"]) == (["--max_steps", "5"], None, None, None)
    for bad in ("0,x", "1,1", ","):
        with pytest.raises(RecipeError, match="--seeds"):
            toy_demo._pop_demo_flags(["--seeds", bad])


@pytest.mark.slow
def test_vocabulary_diagnostic_covers_every_prompt_token(mini_settings, capsys):
    toy_demo.prepare_world_and_base(mini_settings, log=lambda message: None)
    module = _load_recipe_script("diagnose_vocabulary")
    result = module.main(["--world_dir", mini_settings.world_dir, "--base_dir", mini_settings.base_dir])
    printed = capsys.readouterr().out
    assert "| prompt token | in train prompts | in web corpus |" in printed
    assert result["num_prompt_tokens"] > 20  # the template, role nouns, entities, scenes
    assert set(result["geometry"]) == set(module.TEXT_FORMS)
    assert "| SRL prompts (prompt_style srl, the paper's) |" in printed
    assert all(0.0 <= value <= 100.0 for value in result["geometry"].values())
    with pytest.raises(SystemExit, match="not found"):
        module.main(["--world_dir", mini_settings.world_dir + "_missing", "--base_dir", mini_settings.base_dir])


@pytest.mark.slow
def test_vocabulary_diagnostic_prompts_are_the_builders_training_prompts(mini_settings, tmp_path):
    """The geometry rows stand for the prompts FiGCLIP trains on in each prompt_style: same text, event by event."""
    from dataset_scripts.toy_world.world import split_clips
    from dataset_scripts.vidsitu import load_vidsitu

    assets = toy_demo.prepare_world_and_base(mini_settings, log=lambda message: None)
    module = _load_recipe_script("diagnose_vocabulary")
    config = module.world_config(mini_settings.world_dir)
    clips = {clip.clip_id: clip for clip in split_clips(config, "train", config.num_train_clips)}
    texts = module.event_texts(config)
    for style in ("srl", "no_template", "verb_only"):
        rows = load_vidsitu(assets["vidsitu_dir"], "train", prompt_style=style, decode_frames=False,
                            check_videos=False, cache_dir=str(tmp_path / style))
        for row in rows.select(range(3)):
            clip = clips[row["clip_id"]]
            assert [event["prompt"] for event in row["events"]] == [
                texts[f"{style}_prompts"](clip, index) for index in range(len(clip.events))]


def _load_recipe_script(name: str):
    import importlib.util

    path = os.path.join(toy_demo.REPO_ROOT, "recipes", "toy", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"figclip_toy_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_verb_readout_separates_separable_features_and_not_noise():
    import torch

    module = _load_recipe_script("diagnose_verbs")
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(220) % 11
    separable = torch.nn.functional.one_hot(labels, 11).float() + 0.05 * torch.randn(220, 11, generator=generator)
    assert module.linear_readout(separable, labels, separable, labels) == (100.0, 100.0)
    noise_train, noise_test = torch.randn(220, 11, generator=generator), torch.randn(220, 11, generator=generator)
    assert module.linear_readout(noise_train, labels, noise_test, labels)[1] < 30.0  # chance is 9.1 %


@pytest.mark.slow
def test_verb_diagnostic_reproduces_the_benchmark_score(mini_settings, capsys):
    toy_demo.prepare_world_and_base(mini_settings, log=lambda message: None)
    module = _load_recipe_script("diagnose_verbs")
    result = module.main(["--world_dir", mini_settings.world_dir, "--base_dir", mini_settings.base_dir,
                          "--adapter_dir", mini_settings.world_dir + "_no_adapter"])
    printed = capsys.readouterr().out
    assert "| frozen text tower: cos(prompt, negative) | mean | min |" in printed and "| pixels |" in printed
    assert set(result["verb_replace_fit"]) == {"base CLIP / train", "base CLIP / benchmark"}
    # The diagnostic rebuilds the benchmark's items from the world's clips; on the benchmark clips it must score
    # exactly what the SugarCrepe evaluator scores on the written files.
    benchmarks_dir = os.path.join(mini_settings.world_dir, "benchmarks")
    scored = toy_demo.evaluate_on_world(mini_settings.base_dir, benchmarks_dir, 16, keys=("verb_replace",))
    assert result["verb_replace_fit"]["base CLIP / benchmark"]["all"] == scored.metrics["verb_replace"]
    assert all(-1.0 <= value <= 1.0 for value in result["text_similarity"].values())
    with pytest.raises(SystemExit, match="no world"):
        module.main(["--world_dir", mini_settings.world_dir + "_missing", "--base_dir", mini_settings.base_dir])
