#!/usr/bin/env python
"""Adapt without forgetting, measured: the Pareto front of fine-grained gain against web-retrieval retention in the
toy world, for each retention option, adapter scale α and feature-ensemble weight λ.

    python recipes/toy/run_retention.py [--runs figclip=outputs/figclip-toy-world,...]
                                        [--options distill_features,replay,...] [--seeds 0,1,2]
                                        [--adapter_scales 0.25,0.5,0.75,1] [--option_scales 1]
                                        [--ensemble_weights 0.25,0.5,0.75] [--option_ensemble_weights none]
                                        [--output_dir outputs/figclip-toy-world-retention] [any FiGCLIP flag ...]

- `--runs NAME=DIR`: earlier toy runs (what `python recipes/train_figclip.py [--seeds ...]` or `run_ablations.py`
  wrote), read out at every α of `--adapter_scales` without training (post-hoc adapter interpolation,
  `set_adapter_scale`). Default: the default toy run `outputs/figclip-toy-world`, when it exists; `--runs none`: no
  run.
- `--options NAME`: the retention recipes `recipes/retention/{NAME}.yaml` (the fields in which they differ from the
  paper recipe, as for the ablations), each adapted here with `--seeds` on the same world and base into
  `{output_dir}/{NAME}/`, with the world's web corpus (`{world_dir}/pretrain_web`, an imagefolder that
  `datasets.load_dataset` reads: columns image, text) as the generic image–caption dataset; a folder that already
  holds the same run is reused, not retrained. They are read out at the α of `--option_scales` (default 1: as
  trained; e.g. `0.5,1` to interpolate them too). Extra FiGCLIP flags override the recipes' values for every option;
  `NAME:field=value[:field=value]` overrides them for one (a sweep in one front:
  `--options distill_features:distillation_weight=3,distill_features,distill_features:distillation_weight=30`), adapted
  into its own folder.
- `--ensemble_weights λ,...` (the `--runs`) and `--option_ensemble_weights` (the `--options`): the same adapters read
  out as the output-space ensemble with their base (`set_feature_ensemble`: image embeddings
  `normalize((1 − λ)·base + λ·adapted)`, no training), in rows `NAME+ensemble` whose α column holds λ.
- α = 0 (and λ = 0) is the base CLIP exactly (tested), so it is the base's row; α = 1 of a run is the run's own
  evaluation. Every other (run, seed, α or λ) score is cached in `{output_dir}/scores/` under the adapter's digest.

Writes `{output_dir}/retention.{json,md,png}`: per setting the mean-over-seeds Δ to the base CLIP of role_swap,
verb_replace and attribute_swap (gains) and web_R@1 (retention), each with its paired 95 % bootstrap interval and the
sd over seeds, which settings are on the Pareto front of each gain against retention, and which meet the goal
(role_swap Δ ≥ +20 and web_R@1 Δ ≥ −2).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
from typing import Any

from modeling_figclip.cli_utils import RecipeError
from modeling_figclip.evaluation.tradeoff import ADAPTER_SCALE, FEATURE_ENSEMBLE, parse_values  # shared with the CLI
from modeling_figclip.training import TrainingSetupError

import toy_demo  # beside this script
from retention_front import base_setting, best_within_goal, mark_pareto_fronts, summarise_setting, write_front
from toy_report import WorldScores, read_item_tables

RETENTION_DIR = os.path.join(toy_demo.REPO_ROOT, "recipes", "retention")
DEFAULT_SCALES = (0.25, 0.5, 0.75, 1.0)
DEFAULT_ENSEMBLE_WEIGHTS = (0.25, 0.5, 0.75)
DEFAULT_RUNS = "figclip=outputs/figclip-toy-world"
#: Where the generic image–caption pairs are: a data location, set here to the toy world's web corpus.
_DATA_LOCATION_FIELDS = {"generic_dataset"}
_SCORES_FORMAT = 1


def available_options() -> list[str]:
    """The training recipes in `recipes/retention/` (evaluation suites there, which list `models`, are not options)."""
    if not os.path.isdir(RETENTION_DIR):
        return []
    names = []
    for file_name in sorted(os.listdir(RETENTION_DIR)):
        if file_name.endswith(".yaml") and "models" not in toy_demo.load_recipe_yaml(os.path.join(RETENTION_DIR, file_name)):
            names.append(file_name[:-5])
    return names


def split_option(spec: str) -> tuple[str, list[str]]:
    """`"distill_features:distillation_weight=30"` -> `("distill_features", ["--distillation_weight", "30"])`: the
    retention recipe and the fields this option changes in it (none for a plain recipe name)."""
    name, *fields = spec.split(":")
    overrides = []
    for item in fields:
        key, separator, value = item.partition("=")
        if not separator or not key.strip() or not value.strip():
            raise RecipeError(f"Retention option {spec!r}: overrides are NAME:field=value[:field=value], got {item!r}.")
        overrides += [f"--{key.strip()}", value.strip()]
    return name.strip(), overrides


def option_dir_name(spec: str) -> str:
    """The folder of option `spec` under `--output_dir`: `distill_features:distillation_weight=30` ->
    `distill_features__distillation_weight-30`."""
    return spec.replace(":", "__").replace("=", "-")


def option_overrides(spec: str) -> list[str]:
    """The toy-recipe overrides of retention option `spec` (`NAME[:field=value...]`): where
    `recipes/retention/{NAME}.yaml` differs from the paper recipe (`toy_demo.recipe_overrides`), without its data
    location, then the option's own field values."""
    name, extra = split_option(spec)
    path = os.path.join(RETENTION_DIR, f"{name}.yaml")
    if not os.path.isfile(path):
        raise RecipeError(f"Unknown retention option {name!r}: no {path}. Available: {', '.join(available_options())}.")
    return [*toy_demo.recipe_overrides(path, f"Retention option {name}", not_method=_DATA_LOCATION_FIELDS), *extra]


def parse_scales(text: str, flag: str = "--adapter_scales") -> list[float]:
    """`"0.25,0.5,1"` -> `[0.25, 0.5, 1.0]` (distinct values in [0, 1], sorted, at least one); errors name `flag`."""
    try:
        scales = parse_values(text, flag)
    except ValueError as error:
        raise RecipeError(str(error)) from error
    if not scales:
        raise RecipeError(f"{flag} needs values in [0, 1], got {text!r}")
    return scales


def parse_weights(text: str, flag: str = "--ensemble_weights") -> list[float]:
    """`parse_scales` for feature-ensemble weights; "none" (or nothing): no ensemble rows."""
    if text.strip().lower() in ("", "none"):
        return []
    return parse_scales(text, flag)


def parse_runs(text: str | None) -> dict[str, str]:
    """`"figclip=outputs/a,other=outputs/b"` -> `{"figclip": "outputs/a", "other": "outputs/b"}` ("none": `{}`)."""
    runs = {}
    if (text or "").strip().lower() == "none":
        return runs
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, separator, path = part.partition("=")
        if not separator or not name.strip() or not path.strip():
            raise RecipeError(f"--runs entries are NAME=DIR, got {part!r}")
        runs[name.strip()] = path.strip()
    return runs


# ------------------------------------------------------------------------------------------------------ the runs
def read_run(run_dir: str, assets: dict[str, Any]) -> tuple[dict[str, Any], dict[int, str]]:
    """An earlier toy run's report and its adapter folder per seed; refuses a run on another world or base."""
    path = os.path.join(run_dir, "report.json")
    if not os.path.isfile(path):
        raise RecipeError(f"No toy-world report at {path}.")
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    settings = report.get("settings", {})
    if settings.get("world_fingerprint") != assets["manifest"]["fingerprint"]:
        raise RecipeError(f"{run_dir} was adapted in another world (fingerprint {settings.get('world_fingerprint')}).")
    if settings.get("base_pretraining", {}).get("cache_key") != assets["base_report"].get("cache_key"):
        raise RecipeError(f"{run_dir} adapted another base CLIP than {assets['base_dir']}.")
    seeds = [int(seed) for seed in report["seeds"]]
    adapters = {seed: run_dir if len(seeds) == 1 else os.path.join(run_dir, f"seed_{seed}") for seed in seeds}
    missing = [d for d in adapters.values() if not os.path.isfile(os.path.join(d, "adapter_model.safetensors"))]
    if missing:
        raise RecipeError(f"{run_dir}: no adapter in {', '.join(missing)}.")
    return report, adapters


def web_corpus_dir(world_dir: str) -> str:
    """The toy world's web corpus, the generic image–caption pairs of the retention options: an imagefolder
    (`metadata.jsonl` with `file_name`, `text`) that `datasets.load_dataset` reads with columns `image` and `text`
    (the trainer's default `--generic_image_column` / `--generic_caption_column`), cached in the world's
    `datasets_cache`. The base CLIP was pretrained on it; the benchmarks' clips are disjoint from it."""
    from dataset_scripts.toy_world.world import PRETRAIN_DIRNAME

    return os.path.join(world_dir, PRETRAIN_DIRNAME)


def option_argv(name: str, figclip_argv: list[str], output_dir: str, world_dir: str) -> list[str]:
    """The toy-demo arguments that adapt retention option `name` into `{output_dir}/{option_dir_name(name)}`."""
    run_dir = os.path.join(output_dir, option_dir_name(name))
    return [*option_overrides(name), "--generic_dataset", web_corpus_dir(world_dir), *figclip_argv,
            "--output_dir", run_dir]


def train_option(name: str, figclip_argv: list[str], output_dir: str, assets: dict[str, Any], log=print) -> str:
    """Adapt retention option `name` with the toy recipe (reusing an identical earlier run in its folder)."""
    run_dir = os.path.join(output_dir, option_dir_name(name))
    argv = option_argv(name, figclip_argv, output_dir, toy_demo.ToyDemoSettings().world_dir)
    try:
        toy_demo.reusable_report(run_dir, argv, log=log)
        return run_dir
    except RecipeError as reason:
        log(f"[retention] adapting {name}: {reason}")
    # The option's own read-outs come from this script (--option_scales), not the demo's post-hoc third row.
    toy_demo.run_toy_demo(argv, settings=toy_demo.ToyDemoSettings(retention_feature_ensemble=None), log=log)
    return run_dir


# ------------------------------------------------------------------------------------------------------ scoring
def adapter_digest(adapter_dir: str) -> str:
    digest = hashlib.sha256()
    for name in ("adapter_model.safetensors", "figclip_config.json"):
        path = os.path.join(adapter_dir, name)
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()[:16]


#: How a setting's rows are named: weight-space interpolation keeps the run's name, the feature ensemble adds this.
ENSEMBLE_SUFFIX = "+ensemble"


def score_at_scale(adapter_dir: str, scale: float, assets: dict[str, Any], cache_dir: str, batch_size: int,
                   text_caches: dict[str, dict], log=print, mode: str = ADAPTER_SCALE) -> WorldScores:
    """The adapter read out at `scale` on the world's benchmarks, cached on disk by (adapter digest, read-out,
    benchmarks). `mode`: `adapter_scale` (α, `set_adapter_scale`) or `feature_ensemble` (λ, `set_feature_ensemble`)."""
    key = {"format": _SCORES_FORMAT, "adapter": adapter_digest(adapter_dir), mode: scale,
           "benchmarks": assets["manifest"]["digests"]["benchmarks"], "metrics": sorted(toy_demo.REPORT_METRICS)}
    tag = "alpha" if mode == ADAPTER_SCALE else "ensemble"
    path = os.path.join(cache_dir, f"{key['adapter']}_{tag}{scale:g}.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            cached = json.load(handle)
        if cached.get("key") == key:
            return WorldScores.from_dict(cached["scores"])
    log(f"[retention] scoring {adapter_dir} at {mode}={scale:g}")
    scores = toy_demo.evaluate_on_world(adapter_dir, assets["benchmarks_dir"], batch_size, text_caches=text_caches,
                                        **{mode: scale})
    os.makedirs(cache_dir, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"key": key, "adapter_dir": os.path.abspath(adapter_dir), "scores": scores.to_dict()}, handle)
    return scores


def sweep_run(name: str, run_dir: str, scales: list[float], base: WorldScores, assets: dict[str, Any],
              output_dir: str, batch_size: int, text_caches: dict[str, dict], log=print,
              mode: str = ADAPTER_SCALE) -> list:
    """The run's settings at every α > 0 (α = 1: the run's own per-seed evaluation when it kept its item tables), or
    with `mode="feature_ensemble"` at every λ in (0, 1) as `{name}+ensemble` (λ = 1 is the adapter itself, the α = 1
    row; λ = 0 the base exactly)."""
    _, adapters = read_run(run_dir, assets)
    own = read_item_tables(run_dir)
    results = []
    ensemble = mode == FEATURE_ENSEMBLE
    for scale in (s for s in scales if s > 0 and not (ensemble and s == 1.0)):
        if scale == 1.0 and own is not None and set(own[1]) == set(adapters):
            runs = own[1]
        else:
            runs = {seed: score_at_scale(adapter_dir, scale, assets, os.path.join(output_dir, "scores"), batch_size,
                                         text_caches, log=log, mode=mode)
                    for seed, adapter_dir in adapters.items()}
        results.append(summarise_setting(name + ENSEMBLE_SUFFIX if ensemble else name, scale, base, runs))
    return results


def run_retention(runs: dict[str, str], options: list[str], scales: list[float], figclip_argv: list[str],
                  output_dir: str, batch_size: int = 256, option_scales: list[float] | None = None,
                  ensemble_weights: list[float] | None = None, option_ensemble_weights: list[float] | None = None,
                  log=print) -> dict[str, Any]:
    """Adapt the `options` (unless already there), read every run out at every α of `scales` (the options at
    `option_scales`, default α = 1 only) and as the feature ensemble with the base at every λ of `ensemble_weights`
    (the options at `option_ensemble_weights`, default none), and write the front."""
    settings = toy_demo.ToyDemoSettings(eval_batch_size=batch_size)
    assets = toy_demo.prepare_world_and_base(settings, log=log)
    for run_dir in runs.values():
        read_run(run_dir, assets)  # a wrong --runs folder fails before anything is trained
    trained = {name: train_option(name, figclip_argv, output_dir, assets, log=log) for name in options}
    all_runs = {**runs, **trained}
    if not all_runs:
        raise RecipeError("Nothing to read out: give --runs NAME=DIR and/or --options NAME.")
    text_caches: dict[str, dict] = {}
    base = toy_demo.evaluate_base_cached(assets, batch_size, text_caches, log=log)
    seeds = sorted({seed for run_dir in all_runs.values() for seed in read_run(run_dir, assets)[1]})
    results = [base_setting(base, seeds)]
    for name, run_dir in all_runs.items():
        run_scales = scales if name in runs else (option_scales or [1.0])
        results += sweep_run(name, run_dir, run_scales, base, assets, output_dir, batch_size, text_caches, log=log)
        weights = ensemble_weights if name in runs else option_ensemble_weights
        if weights:
            results += sweep_run(name, run_dir, weights, base, assets, output_dir, batch_size, text_caches, log=log,
                                 mode=FEATURE_ENSEMBLE)
    mark_pareto_fronts(results)
    best = best_within_goal(results)
    paths = write_front(results, output_dir, extra={
        "runs": {name: os.path.abspath(path) for name, path in all_runs.items()},
        "options": {name: option_overrides(name) for name in options},
        "base": base.metrics,
    })
    with open(paths["retention.md"], encoding="utf-8") as handle:
        log(handle.read())
    log(f"Best role_swap within web_R@1 Δ ≥ -2: {best.name if best else 'none'}; written to "
        f"{os.path.abspath(paths['retention.md'])} (chart: retention.png)")
    return {"results": results, "paths": paths, "best": best}


def default_runs(log=print) -> str:
    """`DEFAULT_RUNS` when the default toy run is there (it has a report), else none."""
    _, _, path = DEFAULT_RUNS.partition("=")
    if os.path.isfile(os.path.join(path, "report.json")):
        return DEFAULT_RUNS
    log(f"[retention] no default run at {path} (python recipes/train_figclip.py writes it); reading out no --runs")
    return "none"


def main(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--runs", default=None,
                        help=f"NAME=DIR,... earlier toy runs to read out at every α (no training); default "
                             f"{DEFAULT_RUNS} if it exists; none: no run")
    parser.add_argument("--options", default="",
                        help=f"retention recipes to adapt here with --seeds, from: {', '.join(available_options())}")
    parser.add_argument("--adapter_scales", default=",".join(f"{s:g}" for s in DEFAULT_SCALES),
                        help="adapter scales α in [0, 1] of the --runs (0 is the base CLIP's row in any case)")
    parser.add_argument("--option_scales", default="1",
                        help="adapter scales α in [0, 1] at which the trained --options are read out")
    parser.add_argument("--ensemble_weights", default=",".join(f"{s:g}" for s in DEFAULT_ENSEMBLE_WEIGHTS),
                        help="feature-ensemble weights λ in [0, 1] of the --runs (set_feature_ensemble; rows "
                             "NAME+ensemble); none: no ensemble rows")
    parser.add_argument("--option_ensemble_weights", default="none",
                        help="feature-ensemble weights λ at which the trained --options are read out; none: none")
    parser.add_argument("--output_dir", default="outputs/figclip-toy-world-retention")
    parser.add_argument("--eval_batch_size", type=int, default=256)
    parser.add_argument("--seeds", default=None, help="adaptation seeds of the --options, e.g. 0,1,2")
    args, figclip_argv = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.seeds is not None:
        figclip_argv = [*figclip_argv, "--seeds", args.seeds]
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    try:
        options = [name.strip() for name in args.options.split(",") if name.strip()]
        for name in options:
            option_overrides(name)  # unknown names fail before anything runs
        runs = parse_runs(args.runs if args.runs is not None else default_runs())
        return run_retention(runs, options, parse_scales(args.adapter_scales), figclip_argv, args.output_dir,
                             args.eval_batch_size, option_scales=parse_scales(args.option_scales, "--option_scales"),
                             ensemble_weights=parse_weights(args.ensemble_weights),
                             option_ensemble_weights=parse_weights(args.option_ensemble_weights,
                                                                   "--option_ensemble_weights"))
    except (RecipeError, TrainingSetupError) as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
