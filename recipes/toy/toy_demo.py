"""The embedded default: the whole FiGCLIP method, measured end to end in a miniature world on a CPU.

`python recipes/train_figclip.py` (no `--config`, no `--vidsitu_dir`) runs:

1. **World** — `dataset_scripts.toy_world.build_world`: procedurally rendered clips written as a VidSitu release
   (official names and schema), a web-style caption corpus, and held-out benchmarks in the official ARO /
   SugarCrepe / MSR-VTT formats (cached by content fingerprint).
2. **Base CLIP** — `recipes/toy/pretrain_base_clip.py`: a tiny `CLIPModel` pretrained with the plain CLIP loss on the
   bag-of-words web captions (cached by a digest of corpus and settings). It plays `openai/clip-vit-base-patch32`.
3. **FiGCLIP adaptation** — the real training recipe (`recipes/figclip_toy_world.yaml`): LoRA on the vision q/k/v,
   frozen text tower, Video Contextualizer, the four losses, verb-role hard negatives, on the world's VidSitu release.
4. **Evaluation** — the real evaluators score the base and the adapted model on the world's benchmarks.
5. **Report** — `report.json` (`{"base", "figclip", "settings", "seeds", "per_seed", "seed_spread", "ci95"}`,
   metrics in percent; `figclip` is the mean over the adaptation seeds, `--seeds 0,1,2`), a markdown table and a bar
   chart `report.png`, every number with its 95 % bootstrap interval and the difference with its paired interval
   (`toy_report`); `item_tables.json` keeps the per-item results those intervals come from.

`python recipes/toy/run_ablations.py` runs the same pipeline for the shipped ablation recipes (no hard negatives,
no contextualiser, CLIP-level losses only, ...) on the same world and base and tabulates which component buys what.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from modeling_figclip.cli_utils import RecipeError, load_recipe_yaml
from modeling_figclip.evaluation.bootstrap import difference_intervals

# recipes/toy is on sys.path (a script here runs from it; recipes/train_figclip.py adds it): its sibling modules
from toy_report import (
    BOOTSTRAP_SEED,
    ITEM_TABLES_FILE,
    NUM_RESAMPLES,
    WorldScores,
    build_report,
    plot_report,
    read_item_tables,
    render_ablation_tables,
    render_report,
    write_item_tables,
)

TOY_RECIPES_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(TOY_RECIPES_DIR))
TOY_RECIPE = os.path.join(REPO_ROOT, "recipes", "figclip_toy_world.yaml")
BASE_RECIPE = os.path.join(TOY_RECIPES_DIR, "pretrain_base_clip.yaml")

# report key -> (evaluation task, benchmark folder, metric, extra evaluation settings)
REPORT_METRICS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "role_swap": ("aro_vg_relation", "role_swap", "macro_accuracy", {}),
    "attribute_swap": ("aro_vg_attribution", "attribute_swap", "macro_accuracy", {}),
    "verb_replace": ("sugarcrepe", "verb_replace", "replace_rel", {"subsets": "replace_rel"}),
    # Karpathy-format image paths ("images/x.png") are relative to the folder itself.
    "order": ("aro_coco_order", "order", "accuracy",
              {"pos_tagger": "dataset_scripts.toy_world.text:world_pos_tagger", "image_subdir": ""}),
    "web_R@1": ("msrvtt", "web_retrieval", "t2v_R@1", {"num_frames": 12}),
    "role_swap_natural": ("aro_vg_relation", "role_swap_natural", "macro_accuracy", {}),
    "verb_replace_natural": ("sugarcrepe", "verb_replace_natural", "replace_rel", {"subsets": "replace_rel"}),
    "web_R@5": ("msrvtt", "web_retrieval", "t2v_R@5", {"num_frames": 12}),
}
HEADLINE = ("role_swap", "attribute_swap", "verb_replace", "order", "web_R@1")


@dataclass
class ToyDemoSettings:
    """Where the demo writes and which world/base it uses (the FiGCLIP recipe itself is `figclip_toy_world.yaml`).

    Attributes:
        world_dir, base_dir: the cached world and base CLIP (rebuilt only when their content would change).
        eval_batch_size: images/texts per forward pass in evaluation.
        base_args: extra command-line arguments for `recipes/toy/pretrain_base_clip.py` (world and base fields,
            e.g. ``["--num_train_clips", "8", "--max_steps", "5"]`` for a miniature run in tests).
        retention_feature_ensemble: the report's third row, `figclip_retention`: every seed's adapter read out as
            the output-space ensemble with its base at this weight λ (`set_feature_ensemble`; no training, a second
            pass of the vision tower). 0.25 is the training-free setting of the measured front that keeps web R@1
            within the retention goal's 2 points with the most role gain (`recipes/toy/README.md`); None: no row.
    """

    world_dir: str = "outputs/toy_world"
    base_dir: str = "outputs/toy_world/base_clip"
    eval_batch_size: int = 256
    base_args: list[str] = field(default_factory=list)
    retention_feature_ensemble: float | None = 0.25


def prepare_world_and_base(settings: ToyDemoSettings, log=print) -> dict[str, Any]:
    """Build (or reuse) the world and the base CLIP; returns their paths and reports."""
    from dataset_scripts.toy_world import WorldConfig, build_world
    from modeling_figclip.cli_utils import parse_recipe_args

    import pretrain_base_clip as pretrain  # the sibling recipe script
    base_args, world_config, _ = parse_recipe_args(
        (pretrain.BaseClipArguments, WorldConfig),
        ["--config", BASE_RECIPE, "--world_dir", settings.world_dir, "--output_dir", settings.base_dir,
         *settings.base_args],
    )
    manifest = build_world(settings.world_dir, world_config, log=log)
    base_report = pretrain.pretrain_base_clip(base_args, world_config, log=log)
    release = os.path.join(settings.world_dir, "vidsitu")
    return {
        "manifest": manifest,
        "base_report": base_report,
        "vidsitu_dir": release,
        "video_dir": os.path.join(release, "vsitu_video_trimmed_dir"),
        "benchmarks_dir": os.path.join(settings.world_dir, "benchmarks"),
        "base_dir": settings.base_dir,
        "world_config": asdict(world_config),
    }


def evaluate_on_world(model_path: str, benchmarks_dir: str, batch_size: int, keys=tuple(REPORT_METRICS),
                      text_caches: dict[str, dict] | None = None, adapter_scale: float | None = None,
                      feature_ensemble: float | None = None) -> WorldScores:
    """Score one checkpoint on the world's benchmarks with the package's evaluators: per report metric, the value in
    percent and the per-item table it comes from (for confidence intervals and paired comparisons).

    `text_caches` (text-tower fingerprint -> {text: embedding}) lets models with the same frozen text tower — a
    FiGCLIP adapter and its base — encode each benchmark caption once between them. `adapter_scale=α` scores an
    adapter interpolated toward its base (`modeling_figclip.set_adapter_scale`); `feature_ensemble=λ` scores its
    output-space ensemble with the base (`modeling_figclip.set_feature_ensemble`).
    """
    from modeling_figclip.evaluation.arguments import EvaluationArguments
    from modeling_figclip.evaluation.runner import load_encoder, run_task

    # The report bootstraps its own intervals (paired across models), so the evaluators skip theirs.
    base_args = EvaluationArguments(model=model_path, batch_size=batch_size, device="cpu", show_progress=False,
                                    bootstrap_resamples=0)
    encoder = load_encoder(model_path, base_args, adapter_scale=adapter_scale, feature_ensemble=feature_ensemble)
    if text_caches is not None:
        encoder.text_cache = text_caches.setdefault(encoder.text_tower_fingerprint(), {})
    metrics: dict[str, float] = {}
    tables = {}
    cache: dict[tuple, Any] = {}
    for key in keys:
        task, folder, metric, extra = REPORT_METRICS[key]
        signature = (task, folder, tuple(sorted(extra.items())))
        if signature not in cache:
            data_dir = os.path.join(benchmarks_dir, folder)
            settings = dict(extra)
            image_dir = os.path.join(data_dir, settings.pop("image_subdir", "images"))
            args = replace(base_args, task=task, data_dir=data_dir, image_dir=image_dir.rstrip(os.sep), **settings)
            cache[signature] = run_task(task, encoder, args, model_path)
        result = cache[signature]
        metrics[key] = round(float(result.metrics[metric]), 2)
        table = next(t for t in result.item_tables if metric in t.metrics)
        tables[key] = table.select({key: metric}, name=key)
    return WorldScores(metrics, tables)


BASE_EVAL_FILE = "base_eval.json"
_BASE_EVAL_FORMAT = 2  # 2: with per-item tables


def evaluate_base_cached(assets: dict[str, Any], batch_size: int, text_caches: dict[str, dict] | None = None,
                         log=print) -> WorldScores:
    """The base CLIP's scores, cached next to its checkpoint: they depend only on the base (its cache key), the
    benchmarks (their content digest), the report metrics and the default tie rule, so reruns and ablations skip
    them."""
    from modeling_figclip.evaluation.metrics import DEFAULT_TIES

    key = {"format": _BASE_EVAL_FORMAT, "ties": DEFAULT_TIES,
           "base_cache_key": assets["base_report"].get("cache_key"),
           "benchmarks_digest": assets["manifest"]["digests"]["benchmarks"],
           "metrics": {k: list(v[:3]) + [sorted(v[3].items())] for k, v in REPORT_METRICS.items()}}
    path = os.path.join(assets["base_dir"], BASE_EVAL_FILE)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            cached = json.load(handle)
        if cached.get("key") == json.loads(json.dumps(key)):
            log(f"[toy_demo] reusing the base CLIP's scores from {path}")
            return WorldScores.from_dict(cached["scores"])
    scores = evaluate_on_world(assets["base_dir"], assets["benchmarks_dir"], batch_size, text_caches=text_caches)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"key": key, "scores": scores.to_dict()}, handle)
    return scores


def chance_levels(benchmarks_dir: str) -> dict[str, float]:
    """Chance level of each report metric, from the world's `benchmarks.json`."""
    path = os.path.join(benchmarks_dir, "benchmarks.json")
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        info = json.load(handle)
    levels = {}
    for key, (_, folder, _, _) in REPORT_METRICS.items():
        entry = info.get(folder, {})
        value = entry.get("chance")  # in percent, as `write_benchmark_files` records it (R@1 of 400 videos: 0.25)
        if isinstance(value, (int, float)):
            levels[key] = float(value)
    return levels


def write_toy_report(report: dict[str, Any], output_dir: str) -> dict[str, str]:
    """`report.json`, `report.md` and `report.png` in `output_dir`."""
    os.makedirs(output_dir, exist_ok=True)
    paths = {name: os.path.join(output_dir, name) for name in ("report.json", "report.md", "report.png")}
    with open(paths["report.json"], "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, default=str)
    with open(paths["report.md"], "w", encoding="utf-8") as handle:
        handle.write(render_report(report, HEADLINE) + "\n")
    plot_report(report, HEADLINE, paths["report.png"])
    return paths


@dataclass
class ToyRun:
    """A configured toy run: the recipe's arguments pointed at the world and base, the ablation (if any) and what it
    overrides, the world/base assets, and the FiGCLIP adaptation seeds."""

    model_args: Any
    data_args: Any
    training_args: Any
    ablation: str | None
    overrides: list[str]
    assets: dict[str, Any]
    seeds: list[int]

    def seed_output_dir(self, seed: int) -> str:
        """Where the adaptation with `seed` writes: `output_dir` itself for one seed, `output_dir/seed_{seed}` else."""
        if len(self.seeds) == 1:
            return self.training_args.output_dir
        return os.path.join(self.training_args.output_dir, f"seed_{seed}")

    def recipe_record(self) -> dict[str, Any]:
        """All recipe fields of the run but the seed (the report's `seeds` says which), as `settings.figclip_recipe`."""
        record = {**asdict(self.model_args), **asdict(self.data_args), **asdict(self.training_args)}
        record.pop("seed")
        return record


def _configure_run(argv: list[str], settings: ToyDemoSettings | None, log, state=None) -> ToyRun:
    """Parse the toy recipe plus `argv` (and the demo's own flags), build or reuse world and base, and point the
    recipe at them."""
    from accelerate import PartialState

    from modeling_figclip.cli_utils import parse_recipe_args

    from modeling_figclip.training import DataArguments, FigClipTrainingArguments, ModelArguments

    argv, ablation, base_max_steps, seeds = _pop_demo_flags(list(argv))
    if seeds is not None and any(a == "--seed" or a.startswith("--seed=") for a in argv):
        raise RecipeError("give the FiGCLIP seed either as --seed or as --seeds, not both.")
    recipe = load_recipe_yaml(TOY_RECIPE)
    overrides = ablation_overrides(ablation) if ablation else []
    model_args, data_args, training_args, _ = parse_recipe_args(
        (ModelArguments, DataArguments, FigClipTrainingArguments), [*overrides, *argv], defaults=recipe
    )
    settings = settings or ToyDemoSettings()
    if base_max_steps is not None:
        if base_max_steps < 1:
            raise RecipeError(f"--base_max_steps must be >= 1, got {base_max_steps}")
        default_dir = ToyDemoSettings().base_dir
        base_dir = settings.base_dir if settings.base_dir != default_dir else f"{default_dir}_{base_max_steps}steps"
        settings = replace(settings, base_dir=base_dir, base_args=[*settings.base_args, "--max_steps", str(base_max_steps)])
    with (state or PartialState()).main_process_first():
        assets = prepare_world_and_base(settings, log=log)
    model_args.model_name_or_path = assets["base_dir"]
    data_args.vidsitu_dir, data_args.video_dir = assets["vidsitu_dir"], assets["video_dir"]
    data_args.dataset_cache_dir = data_args.dataset_cache_dir or os.path.join(settings.world_dir, "datasets_cache")
    training_args.recipe_path = TOY_RECIPE if not ablation else f"{TOY_RECIPE} + ablation {ablation}"
    return ToyRun(model_args, data_args, training_args, ablation, overrides, assets, seeds or [training_args.seed])


def reusable_report(run_dir: str, argv: list[str], settings: ToyDemoSettings | None = None, log=print) -> dict[str, Any]:
    """The report of the earlier toy run in `run_dir`, if it trained exactly what `argv` would (same recipe fields
    apart from where it writes, same seeds, same world fingerprint, same base checkpoint) and kept its per-item
    tables; raises `RecipeError` saying what differs otherwise. Lets `run_toy_ablations` take the full-recipe row
    from the default run instead of training it again. (FiGCLIP source changes are not part of the check: rerun
    after editing the trainer.)"""
    path = os.path.join(run_dir, "report.json")
    if not os.path.isfile(path):
        raise RecipeError(f"No toy-world report at {path}: run `python recipes/train_figclip.py` first.")
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    run = _configure_run(argv, settings, log)
    # Through JSON as `write_toy_report` stores it, so tuples and paths compare like the stored values.
    wanted = json.loads(json.dumps(
        {k: v for k, v in run.recipe_record().items() if k not in _RUN_LOCATION_FIELDS}, default=str))
    settings_then = report.get("settings", {})
    ran = {k: v for k, v in settings_then.get("figclip_recipe", {}).items() if k not in _RUN_LOCATION_FIELDS}
    # A field the earlier run did not record (added to the recipe since) ran at its default.
    ran = {**{k: v for k, v in _recipe_field_defaults().items() if k in wanted}, **ran}
    differences = sorted(k for k in set(wanted) | set(ran) if wanted.get(k) != ran.get(k))
    if report.get("seeds") != run.seeds:
        differences.append(f"seeds ({report.get('seeds')} vs {run.seeds})")
    if run.ablation is not None or settings_then.get("ablation") is not None:
        differences.append("ablation")
    if settings_then.get("world_fingerprint") != run.assets["manifest"]["fingerprint"]:
        differences.append("world_fingerprint")
    if settings_then.get("base_pretraining", {}).get("cache_key") != run.assets["base_report"].get("cache_key"):
        differences.append("base checkpoint")
    if read_item_tables(run_dir) is None:
        differences.append(f"per-item tables (no {ITEM_TABLES_FILE}: the run predates confidence intervals)")
    if differences:
        raise RecipeError(f"{path} ran a different recipe (differs in: {', '.join(differences)}); not reusing it.")
    log(f"[toy_ablations] reusing the full-recipe run {run_dir} (same recipe, seeds, world and base)")
    return report


def _recipe_field_defaults() -> dict[str, Any]:
    """The dataclass default of every recipe field that has one, JSON-shaped like `recipe_record`."""
    from dataclasses import MISSING, fields

    from modeling_figclip.training import DataArguments, FigClipTrainingArguments, ModelArguments

    defaults = {}
    for arguments in (ModelArguments, DataArguments, FigClipTrainingArguments):
        for spec in fields(arguments):
            if spec.default is not MISSING:
                defaults[spec.name] = spec.default
            elif spec.default_factory is not MISSING:
                defaults[spec.name] = spec.default_factory()
    return json.loads(json.dumps(defaults, default=str))


def run_toy_demo(argv: list[str], settings: ToyDemoSettings | None = None, log=print) -> dict[str, Any]:
    """The embedded default: world → base (cached) → FiGCLIP adaptation (once per seed) → evaluation → report.

    CLI flags override fields of `recipes/figclip_toy_world.yaml` (e.g. `--max_steps 50`, `--output_dir ...`,
    `--num_hard_negatives 0`); `--ablation NAME` applies what `recipes/ablations/NAME.yaml` changes (see
    `ablation_overrides`); `--seeds 0,1,2` adapts the same base once per seed (default: the recipe's seed) and
    reports the mean, the spread over seeds and bootstrap intervals (`toy_report`).
    """
    from accelerate import PartialState

    from modeling_figclip.training import train_figclip

    started = time.perf_counter()
    settings = settings or ToyDemoSettings()
    state = PartialState()
    run = _configure_run(argv, settings, log, state)
    timings = {"world_and_base_s": round(time.perf_counter() - started, 1)}

    t0 = time.perf_counter()
    results = {}
    for seed in run.seeds:
        if len(run.seeds) > 1:
            log(f"[toy_demo] FiGCLIP adaptation with seed {seed}")
        training_args = replace(run.training_args, seed=seed, output_dir=run.seed_output_dir(seed))
        results[seed] = train_figclip(run.model_args, run.data_args, training_args)
    timings["figclip_training_s"] = round(time.perf_counter() - t0, 1)
    if not state.is_main_process:
        return {}

    t0 = time.perf_counter()
    text_caches: dict[str, dict] = {}
    base = evaluate_base_cached(run.assets, settings.eval_batch_size, text_caches, log=log)

    def evaluate_seeds(feature_ensemble: float | None = None) -> dict[int, WorldScores]:
        return {
            seed: evaluate_on_world(result.output_dir, run.assets["benchmarks_dir"], settings.eval_batch_size,
                                    text_caches=text_caches, feature_ensemble=feature_ensemble)
            for seed, result in results.items()
        }

    runs = evaluate_seeds()
    retention_runs, retention = None, None
    if settings.retention_feature_ensemble is not None:
        weight = settings.retention_feature_ensemble
        retention = {"feature_ensemble": weight, "label": f"ensemble with the base, λ = {weight:g}",
                     "how": "each seed's adapter read out as normalize((1 − λ)·base + λ·adapted) image embeddings "
                            "(set_feature_ensemble); no training"}
        retention_runs = evaluate_seeds(weight)
    timings["evaluation_s"] = round(time.perf_counter() - t0, 1)
    timings["total_s"] = round(time.perf_counter() - started, 1)
    report = build_report(base, runs, {
        "metrics": {k: f"{t}:{m} on benchmarks/{f}" for k, (t, f, m, _) in REPORT_METRICS.items()},
        "chance": chance_levels(run.assets["benchmarks_dir"]),
        "ablation": run.ablation,
        "ablation_overrides": run.overrides,
        "world": run.assets["world_config"],
        "world_fingerprint": run.assets["manifest"]["fingerprint"],
        "base_model": run.assets["base_dir"],
        "base_pretraining": {k: v for k, v in run.assets["base_report"].items() if not isinstance(v, (list, dict))},
        "base_heldout_web": run.assets["base_report"].get("heldout_web"),
        "base_max_steps": run.assets["base_report"].get("args", {}).get("max_steps"),
        "figclip_adapters": {str(seed): os.path.abspath(result.output_dir) for seed, result in results.items()},
        "figclip_recipe": run.recipe_record(),
        "figclip_validation": {str(seed): result.final_metrics for seed, result in results.items()},
        "retention": retention,
        "timings": timings,
    }, retention_runs)
    paths = write_toy_report(report, run.training_args.output_dir)
    write_item_tables(run.training_args.output_dir, base, runs)
    log(render_report(report, HEADLINE))
    log(f"Report written to {os.path.abspath(paths['report.json'])} (table: report.md, chart: report.png)")
    return report


# ---------------------------------------------------------------------------------------------------------------------
# Ablations: the shipped ablation recipes, applied to the toy recipe
# ---------------------------------------------------------------------------------------------------------------------
ABLATIONS_DIR = os.path.join(REPO_ROOT, "recipes", "ablations")
PAPER_RECIPE = os.path.join(REPO_ROOT, "recipes", "figclip_vitb32_vidsitu.yaml")
#: Fields that say where a run writes, not what it trains: never carried over from a paper ablation.
_NOT_METHOD = {"output_dir", "run_name", "hub_model_id"}
#: Fields `reusable_report` ignores: where, under which name and how verbosely a run writes, not what it trains.
_RUN_LOCATION_FIELDS = _NOT_METHOD | {"overwrite_output_dir", "recipe_path", "push_to_hub", "hub_private_repo",
                                      "report_to", "logging_steps"}
DEFAULT_ABLATIONS = ("no_hard_negatives", "no_contextualizer", "clip_level_losses_only")


def available_ablations() -> list[str]:
    return sorted(name[:-5] for name in os.listdir(ABLATIONS_DIR) if name.endswith(".yaml"))


def ablation_overrides(name: str) -> list[str]:
    """Command-line overrides that turn the toy recipe into ablation `name`: the method fields in which
    `recipes/ablations/{name}.yaml` differs from the paper recipe it ablates (`figclip_vitb32_vidsitu.yaml`).
    So the toy ablations are the shipped ones, not a second copy of them."""
    path = os.path.join(ABLATIONS_DIR, f"{name}.yaml")
    if not os.path.isfile(path):
        raise RecipeError(f"Unknown ablation {name!r}: no {path}. Available: {', '.join(available_ablations())}.")
    return recipe_overrides(path, f"Ablation {name}")


def recipe_overrides(path: str, label: str, not_method: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """The method fields in which the recipe at `path` differs from the paper recipe, as command-line overrides
    (fields in `_NOT_METHOD` and `not_method`, which say where things are rather than what is trained, are left
    out)."""
    skip = _NOT_METHOD | set(not_method)
    paper, recipe = load_recipe_yaml(PAPER_RECIPE), load_recipe_yaml(path)
    changed = {k: v for k, v in recipe.items() if k not in skip and paper.get(k, object()) != v}
    changed.update({k: None for k in paper if k not in recipe and k not in skip})
    overrides = []
    for key, value in sorted(changed.items()):
        if value is None:
            raise RecipeError(f"{label} drops {key!r} from the paper recipe; say which value it means.")
        overrides += [f"--{key}", str(value).lower() if isinstance(value, bool) else str(value)]
    return overrides


def parse_seeds(text: str) -> list[int]:
    """`"0,1,2"` -> `[0, 1, 2]` (distinct integers, in the order given)."""
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise RecipeError(f"--seeds must be comma-separated integers, got {text!r}") from error
    if not seeds or len(set(seeds)) != len(seeds):
        raise RecipeError(f"--seeds needs at least one seed and no repeats, got {text!r}")
    return seeds


def _pop_demo_flags(argv: list[str]) -> tuple[list[str], str | None, int | None, list[int] | None]:
    """Split the demo's own flags off the FiGCLIP flags (everything else goes to the recipe parser):
    `--ablation NAME`, `--base_max_steps N` (pretraining steps of the base CLIP, default from
    `recipes/toy/pretrain_base_clip.yaml`; a base with other steps is trained and cached next to the default one) and
    `--seeds 0,1,2` (FiGCLIP adaptation seeds; world and base stay the same)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--ablation")
    parser.add_argument("--base_max_steps", type=int)
    parser.add_argument("--seeds")
    known, rest = parser.parse_known_args(argv)
    return rest, known.ablation, known.base_max_steps, parse_seeds(known.seeds) if known.seeds is not None else None


def run_toy_ablations(names: list[str], argv: list[str], output_dir: str = "outputs/figclip-toy-world-ablations",
                      settings: ToyDemoSettings | None = None, log=print,
                      full_run_dir: str | None = None) -> dict[str, dict[str, Any]]:
    """The full toy recipe and each ablation in `names` on the same (cached) world and base, each adapted with the
    same seeds (`--seeds` in `argv`); writes `ablations.json` and `ablations.md` to `output_dir` and returns the
    reports by run name. With `full_run_dir` (e.g. the default run's `outputs/figclip-toy-world`) the full-recipe row
    is that run's report, checked by `reusable_report`, instead of a new training run.

    Besides each run's own intervals, every ablation gets the paired interval of its difference to the full recipe
    (the same benchmark items, mean over seeds on both sides), which is what says whether a component matters."""
    reports: dict[str, dict[str, Any]] = {}
    run_dirs: dict[str, str] = {}
    settings = replace(settings or ToyDemoSettings(), retention_feature_ensemble=None)  # the ablation table has no use for it
    if full_run_dir is not None:
        reports["figclip"] = reusable_report(full_run_dir, argv, settings=settings, log=log)
        run_dirs["figclip"] = full_run_dir
    for name in [*(["figclip"] if full_run_dir is None else []), *names]:
        run_dirs[name] = os.path.join(output_dir, name)
        run_argv = [*argv, "--output_dir", run_dirs[name]]
        if name != "figclip":
            run_argv += ["--ablation", name]
        log(f"[toy_ablations] {name}")
        reports[name] = run_toy_demo(run_argv, settings=settings, log=log)
    if not reports["figclip"]:  # not the main process
        return reports
    versus_full = ablation_differences(run_dirs)
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "ablations.json"), "w", encoding="utf-8") as handle:
        json.dump({name: {"figclip": r["figclip"], "base": r["base"], "seeds": r["seeds"], "per_seed": r["per_seed"],
                          "seed_spread": r["seed_spread"], "ci95": r["ci95"],
                          "minus_full_figclip_ci95": versus_full.get(name),
                          "overrides": r["settings"]["ablation_overrides"]} for name, r in reports.items()},
                  handle, indent=2)
    table = render_ablation_tables(reports, HEADLINE, versus_full)
    with open(os.path.join(output_dir, "ablations.md"), "w", encoding="utf-8") as handle:
        handle.write(table + "\n")
    log(table)
    log(f"Ablation table written to {os.path.abspath(os.path.join(output_dir, 'ablations.md'))}")
    return reports


def ablation_differences(run_dirs: dict[str, str]) -> dict[str, dict[str, list[float]]]:
    """Run name -> metric -> paired 95 % interval of (ablation − full FiGCLIP), from the runs' `item_tables.json`
    (FiGCLIP side: mean over each run's seeds)."""
    def seed_tables(run_dir: str) -> list[list]:
        _, runs = read_item_tables(run_dir)
        return [list(scores.tables.values()) for scores in runs.values()]

    full = seed_tables(run_dirs["figclip"])
    return {
        name: {k: [round(v, 2) for v in interval] for k, interval in
               difference_intervals(seed_tables(run_dir), full, NUM_RESAMPLES, BOOTSTRAP_SEED).items()}
        for name, run_dir in run_dirs.items() if name != "figclip"
    }
