"""The toy demo's report: the base CLIP against FiGCLIP adapted with one or more seeds, with confidence intervals.

Numbers (all in percent):

- `base`: the base CLIP on the world's benchmarks (one model: the world and the base are fixed and cached);
- `figclip`: the mean over the adaptation seeds; `per_seed` each seed's own numbers; `seed_spread` their standard
  deviation (population), minimum and maximum: how much a rerun with another seed moves a number;
- `ci95`: 95 % percentile-bootstrap intervals over the benchmark items (1,000 resamples, items resampled within
  their ARO relation / attribute pair or SugarCrepe subset): `base`, `figclip` (of the mean over seeds) and
  `figclip_minus_base`, the *paired* interval of the difference: every resample draws one set of items and scores
  the base and every seed's model on it, then takes mean over seeds minus base. These intervals describe the
  uncertainty from the benchmark's finite items given these seeds; they do not contain the seed-to-seed variation,
  which `seed_spread` reports next to them, so read a difference against both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modeling_figclip.evaluation.bootstrap import ItemTable, confidence_intervals, difference_intervals, mean_intervals
from modeling_figclip.evaluation.report import format_with_interval, grouped_bar_chart

NUM_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
CI_METHOD = (
    "95% percentile bootstrap over the benchmark items (1000 resamples, seed 0; items resampled within their ARO "
    "relation/attribute pair or SugarCrepe subset). figclip: interval of the mean over seeds; figclip_minus_base: "
    "paired (each resample scores the base and every seed's model on the same items). Seed-to-seed variation is not "
    "in these intervals; seed_spread reports it."
)
ITEM_TABLES_FILE = "item_tables.json"


@dataclass
class WorldScores:
    """One model's report metrics and, per metric, the per-item table it was computed from."""

    metrics: dict[str, float]
    tables: dict[str, ItemTable]

    def to_dict(self) -> dict[str, Any]:
        return {"metrics": self.metrics, "tables": {k: t.to_dict() for k, t in self.tables.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorldScores:
        return cls(dict(data["metrics"]), {k: ItemTable.from_dict(t) for k, t in data["tables"].items()})


def _rounded(intervals: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
    return {key: [round(float(v), 2) for v in interval] for key, interval in intervals.items()}


def seed_spread(per_seed: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Per metric, the standard deviation (population; 0 for one seed), minimum and maximum over the seeds."""
    keys = next(iter(per_seed.values())).keys()
    spread = {}
    for key in keys:
        values = np.array([run[key] for run in per_seed.values()])
        spread[key] = {"std": round(float(values.std()), 2), "min": float(values.min()), "max": float(values.max())}
    return spread


def confidence_report(base: WorldScores, runs: Sequence[WorldScores]) -> dict[str, dict[str, list[float]]]:
    """The `ci95` block of the report: base, FiGCLIP (mean over runs) and the paired FiGCLIP − base."""
    base_tables = [list(base.tables.values())]
    run_tables = [list(run.tables.values()) for run in runs]
    return {
        "base": _rounded(confidence_intervals(base_tables[0], NUM_RESAMPLES, BOOTSTRAP_SEED)),
        "figclip": _rounded(mean_intervals(run_tables, NUM_RESAMPLES, BOOTSTRAP_SEED)),
        "figclip_minus_base": _rounded(difference_intervals(run_tables, base_tables, NUM_RESAMPLES, BOOTSTRAP_SEED)),
    }


def build_report(
    base: WorldScores,
    runs: Mapping[int, WorldScores],
    settings: dict[str, Any],
    retention_runs: Mapping[int, WorldScores] | None = None,
) -> dict[str, Any]:
    """`report.json`: `base`, `figclip` (means over seeds), `settings`, `seeds`, `per_seed`, `seed_spread`, `ci95`;
    with `retention_runs` (the same seeds' adapters read out with a retention setting, `settings["retention"]` says
    which) also `figclip_retention` (same keys as `base`), `per_seed_retention` and its intervals in `ci95`."""
    per_seed = {str(seed): scores.metrics for seed, scores in runs.items()}
    report = {
        "base": base.metrics,
        "figclip": _seed_means(per_seed, base.metrics),
        "settings": {**settings, "confidence_intervals": CI_METHOD},
        "seeds": list(runs),
        "per_seed": per_seed,
        "seed_spread": seed_spread(per_seed),
        "ci95": confidence_report(base, list(runs.values())),
    }
    if retention_runs:
        per_seed_retention = {str(seed): scores.metrics for seed, scores in retention_runs.items()}
        report["figclip_retention"] = _seed_means(per_seed_retention, base.metrics)
        report["per_seed_retention"] = per_seed_retention
        intervals = confidence_report(base, list(retention_runs.values()))
        report["ci95"]["figclip_retention"] = intervals["figclip"]
        report["ci95"]["figclip_retention_minus_base"] = intervals["figclip_minus_base"]
    return report


def _seed_means(per_seed: Mapping[str, Mapping[str, float]], keys) -> dict[str, float]:
    return {key: round(float(np.mean([run[key] for run in per_seed.values()])), 2) for key in keys}


# ----------------------------------------------------------------------------------------------------------- files
def write_item_tables(output_dir: str, base: WorldScores, runs: Mapping[int, WorldScores]) -> str:
    """`item_tables.json` next to the report, so later comparisons (ablations) can pair their items with this run."""
    path = os.path.join(output_dir, ITEM_TABLES_FILE)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"base": base.to_dict(), "per_seed": {str(s): r.to_dict() for s, r in runs.items()}}, handle)
    return path


def read_item_tables(output_dir: str) -> tuple[WorldScores, dict[int, WorldScores]] | None:
    """The base and per-seed scores written by `write_item_tables`, or None if the run has none."""
    path = os.path.join(output_dir, ITEM_TABLES_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return WorldScores.from_dict(data["base"]), {int(s): WorldScores.from_dict(r) for s, r in data["per_seed"].items()}


# ----------------------------------------------------------------------------------------------------------- rendering
def ordered_keys(report: Mapping[str, Any], headline: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(k for k in [*headline, *report["base"]] if k in report["base"]))


def render_report(report: Mapping[str, Any], headline: Sequence[str]) -> str:
    """Markdown: base, FiGCLIP and the paired difference with their intervals, the spread over seeds, chance."""
    ci, seeds = report["ci95"], report["seeds"]
    several = len(seeds) > 1
    header = ["metric", "base CLIP", "FiGCLIP" + (f" (mean of {len(seeds)} seeds)" if several else ""),
              "Δ FiGCLIP − base"]
    header += ["FiGCLIP over seeds: sd (min–max)"] if several else []
    retention = "figclip_retention" in report
    if retention:
        header += [f"FiGCLIP retention ({report['settings'].get('retention', {}).get('label', '')})",
                   "Δ retention − base"]
    lines = ["| " + " | ".join([*header, "chance"]) + " |", "|---" * (len(header) + 1) + "|"]
    chance = report["settings"].get("chance", {})
    for key in ordered_keys(report, headline):
        base, figclip = report["base"][key], report["figclip"][key]
        cells = [key, format_with_interval(base, ci["base"].get(key)), format_with_interval(figclip, ci["figclip"].get(key)),
                 format_with_interval(figclip - base, ci["figclip_minus_base"].get(key), signed=True)]
        if several:
            spread = report["seed_spread"][key]
            cells.append(f"{spread['std']:.1f} ({spread['min']:.1f}–{spread['max']:.1f})")
        if retention:
            kept = report["figclip_retention"][key]
            cells += [format_with_interval(kept, ci["figclip_retention"].get(key)),
                      format_with_interval(kept - base, ci["figclip_retention_minus_base"].get(key), signed=True)]
        cells.append("" if chance.get(key) is None else f"{chance[key]:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Seeds (FiGCLIP adaptation): {', '.join(map(str, seeds))}. [low, high]: {CI_METHOD}"]
    return "\n".join(lines)


def plot_report(report: Mapping[str, Any], headline: Sequence[str], path: str) -> str:
    """Grouped bars of base vs FiGCLIP per metric with 95 % intervals as error bars, each seed as a dot, chance as
    a dashed tick."""
    keys = ordered_keys(report, headline)
    series = [(label, [report[model][k] for k in keys], [report["ci95"][model].get(k) for k in keys])
              for model, label in (("base", "base CLIP"), ("figclip", "FiGCLIP"), ("figclip_retention", "FiGCLIP retention"))
              if model in report]
    several = len(report["seeds"]) > 1
    chance = report["settings"].get("chance", {})

    def draw_seeds_and_chance(axis, centres, width) -> None:
        if several:
            for seed_metrics in report["per_seed"].values():
                # on the FiGCLIP bars, the second series (grouped_bar_chart's layout)
                axis.plot(centres - 0.4 + width * 1.5, [seed_metrics[k] for k in keys], "k.", markersize=4)
        for x, key in zip(centres, keys):
            if key in chance:
                axis.hlines(chance[key], x - 0.4, x + 0.4, colors="black", linestyles="dashed", linewidth=1)

    title = "Toy world: base CLIP vs FiGCLIP (95% CI; dashed: chance" + ("; dots: seeds)" if several else ")")
    return grouped_bar_chart(path, keys, series, title, decorate=draw_seeds_and_chance)


def render_ablation_tables(
    reports: Mapping[str, Mapping[str, Any]],
    headline: Sequence[str],
    versus_full: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
) -> str:
    """Markdown for the ablations: (1) every run's value [95 % CI]; (2) its paired difference to the base CLIP
    [95 % CI] and, with several seeds, the sd over seeds; (3) the paired difference of each ablation to the full
    FiGCLIP run (`versus_full`: run name -> metric -> interval), which is what says whether a component matters."""
    first = next(iter(reports.values()))
    keys = ordered_keys(first, headline)
    head = "| run | " + " | ".join(keys) + " |\n" + "|---" * (len(keys) + 1) + "|"
    values = [head, "| base CLIP | " + " | ".join(format_with_interval(first["base"][k], first["ci95"]["base"].get(k)) for k in keys)
              + " |"]
    deltas = [head]
    for name, report in reports.items():
        ci, several = report["ci95"], len(report["seeds"]) > 1
        values.append(f"| {name} | " + " | ".join(format_with_interval(report["figclip"][k], ci["figclip"].get(k)) for k in keys) + " |")
        cells = []
        for k in keys:
            cell = format_with_interval(report["figclip"][k] - report["base"][k], ci["figclip_minus_base"].get(k), signed=True)
            cells.append(cell + (f" sd {report['seed_spread'][k]['std']:.1f}" if several else ""))
        deltas.append(f"| {name} | " + " | ".join(cells) + " |")
    seeds = sorted({len(r["seeds"]) for r in reports.values()})
    parts = [
        f"Runs (FiGCLIP: mean over {' / '.join(map(str, seeds))} seed(s)), value [95% CI]:", "\n".join(values), "",
        "Difference to the base CLIP, paired [95% CI] (sd: over seeds):", "\n".join(deltas),
    ]
    if versus_full:
        full = reports.get("figclip")
        rows = [head]
        for name, intervals in versus_full.items():
            cells = [format_with_interval(reports[name]["figclip"][k] - full["figclip"][k], intervals.get(k), signed=True) for k in keys]
            rows.append(f"| {name} | " + " | ".join(cells) + " |")
        parts += ["", "Difference to the full FiGCLIP recipe, paired [95% CI]:", "\n".join(rows)]
    parts += ["", CI_METHOD]
    return "\n".join(parts)
