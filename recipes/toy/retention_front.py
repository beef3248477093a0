"""The retention trade-off in the toy world: fine-grained gain against web-retrieval retention, per setting, with the
paired 95 % intervals of `toy_report`, the Pareto front, one table and one chart (used by `run_retention.py`).

A *setting* is one way of producing a model from the base CLIP: a retention option (the paper's recipe, distillation,
replay, …), adapted with one or more seeds, and read out at an adapter scale α (`set_adapter_scale`; α = 0 is the base
model exactly, α = 1 the adapter as trained). Every number is a difference to the base CLIP on the same benchmark
items: the mean over the setting's seeds minus the base, with its paired bootstrap interval (`difference_intervals`:
each resample scores the base and every seed's model on the same items) and the standard deviation over seeds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from modeling_figclip.evaluation.bootstrap import difference_intervals
from modeling_figclip.evaluation.report import format_with_interval
from toy_report import BOOTSTRAP_SEED, CI_METHOD, NUM_RESAMPLES, WorldScores

#: The gains the front trades against retention, and the retention measure (issue: "role_swap Δ, verb_replace Δ,
#: attribute_swap Δ against web_R@1 Δ").
GAIN_METRICS = ("role_swap", "verb_replace", "attribute_swap")
RETENTION_METRIC = "web_R@1"
#: The goal of the retention work: most of the role gain (≥ +20) with no forgetting (web_R@1 ≥ −2), as means over seeds.
GOAL = {"role_swap": 20.0, RETENTION_METRIC: -2.0}


@dataclass
class SettingResult:
    """One setting's differences to the base CLIP.

    Attributes:
        option: the retention option (a run name, e.g. "figclip" or "replay_g1").
        adapter_scale: α at which its adapters were read out.
        seeds: the adaptation seeds averaged over.
        delta: metric -> mean over seeds minus base (percentage points).
        delta_ci95: metric -> paired 95 % interval of `delta`.
        seed_sd: metric -> standard deviation (population) of the metric over seeds.
        front: gain metric -> whether the setting is on the Pareto front of that gain against retention.
    """

    option: str
    adapter_scale: float
    seeds: list[int]
    delta: dict[str, float]
    delta_ci95: dict[str, list[float]]
    seed_sd: dict[str, float]
    front: dict[str, bool] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.option} α={self.adapter_scale:g}"

    def meets_goal(self) -> bool:
        return all(self.delta[metric] >= threshold for metric, threshold in GOAL.items())


def summarise_setting(option: str, adapter_scale: float, base: WorldScores,
                      runs: Mapping[int, WorldScores]) -> SettingResult:
    """Mean-over-seeds differences to `base`, their paired intervals and the spread over seeds."""
    keys = list(base.metrics)
    per_seed = {key: np.array([run.metrics[key] for run in runs.values()]) for key in keys}
    intervals = difference_intervals([list(run.tables.values()) for run in runs.values()], [list(base.tables.values())],
                                     NUM_RESAMPLES, BOOTSTRAP_SEED)
    return SettingResult(
        option=option,
        adapter_scale=float(adapter_scale),
        seeds=list(runs),
        delta={key: round(float(per_seed[key].mean()) - base.metrics[key], 2) for key in keys},
        delta_ci95={key: [round(v, 2) for v in intervals[key]] for key in keys if key in intervals},
        seed_sd={key: round(float(per_seed[key].std()), 2) for key in keys},
    )


def base_setting(base: WorldScores, seeds: Sequence[int]) -> SettingResult:
    """The base CLIP as the setting α = 0 (every adapter at α = 0 is the base exactly): no difference, no spread."""
    zeros = {key: 0.0 for key in base.metrics}
    return SettingResult("base CLIP", 0.0, list(seeds), dict(zeros), {k: [0.0, 0.0] for k in zeros}, dict(zeros))


def mark_pareto_fronts(results: Sequence[SettingResult]) -> None:
    """Set `front[gain]` for every gain metric: True when no other setting is at least as good on both the gain and
    retention and better on one (means over seeds)."""
    for gain in GAIN_METRICS:
        points = [(r.delta[gain], r.delta[RETENTION_METRIC]) for r in results]
        for result, (g, k) in zip(results, points):
            dominated = any(og >= g and ok >= k and (og > g or ok > k) for og, ok in points)
            result.front[gain] = not dominated


def best_within_goal(results: Sequence[SettingResult], gain: str = "role_swap") -> SettingResult | None:
    """The setting with the largest `gain` among those that keep retention within the goal (web_R@1 Δ ≥ −2)."""
    allowed = [r for r in results if r.delta[RETENTION_METRIC] >= GOAL[RETENTION_METRIC] and r.adapter_scale > 0]
    return max(allowed, key=lambda r: r.delta[gain], default=None)


def render_front_table(results: Sequence[SettingResult]) -> str:
    """Markdown: one row per setting, each Δ with its paired 95 % interval and sd over seeds, front membership."""
    metrics = [*GAIN_METRICS, RETENTION_METRIC]
    head = ["option", "α (λ for +ensemble)", "seeds", *[f"{m} Δ" for m in metrics], "Pareto front (role / verb / attribute)", "goal"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for result in results:
        several = len(result.seeds) > 1 and result.option != "base CLIP"
        cells = [result.option, f"{result.adapter_scale:g}", str(len(result.seeds))]
        for metric in metrics:
            cell = format_with_interval(result.delta[metric], result.delta_ci95.get(metric), signed=True)
            cells.append(cell + (f" sd {result.seed_sd[metric]:.1f}" if several else ""))
        cells.append(" / ".join("✓" if result.front.get(g) else "·" for g in GAIN_METRICS))
        cells.append("✓" if result.meets_goal() else "")
        lines.append("| " + " | ".join(cells) + " |")
    goal = " and ".join(f"{m} Δ ≥ {v:+g}" for m, v in GOAL.items())
    lines += ["", f"Δ: mean over seeds minus the base CLIP, percentage points. Goal: {goal}. [low, high]: {CI_METHOD}"]
    return "\n".join(lines)


def plot_front(results: Sequence[SettingResult], path: str) -> str:
    """One panel per gain metric: gain Δ against web_R@1 Δ, one line per option through its α values, 95 % intervals
    as error bars, the overall Pareto front dashed, and the goal region shaded on the role_swap panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(GAIN_METRICS), figsize=(5.0 * len(GAIN_METRICS), 4.6), squeeze=False)
    options = list(dict.fromkeys(r.option for r in results))
    base = next((r for r in results if r.option == "base CLIP"), None)
    for axis, gain in zip(axes[0], GAIN_METRICS):
        for option in options:
            if option == "base CLIP":
                continue
            points = sorted((r for r in results if r.option == option), key=lambda r: r.adapter_scale)
            if base is not None:
                points = [base, *points]  # every α-line starts at the base (α = 0 is the base exactly)
            x = np.array([p.delta[RETENTION_METRIC] for p in points])
            y = np.array([p.delta[gain] for p in points])
            xerr = _errors(x, [p.delta_ci95.get(RETENTION_METRIC) for p in points])
            yerr = _errors(y, [p.delta_ci95.get(gain) for p in points])
            line = axis.errorbar(x, y, xerr=xerr, yerr=yerr, marker="o", markersize=4, capsize=2, linewidth=1.2,
                                 label=option)
            for point, xi, yi in zip(points, x, y):
                if point.option != "base CLIP":
                    axis.annotate(f"{point.adapter_scale:g}", (xi, yi), textcoords="offset points", xytext=(4, 3),
                                  fontsize=7, color=line[0].get_color())
        front = sorted((r for r in results if r.front.get(gain)), key=lambda r: r.delta[RETENTION_METRIC])
        axis.plot([r.delta[RETENTION_METRIC] for r in front], [r.delta[gain] for r in front], "k--", linewidth=0.8,
                  label="Pareto front")
        if gain in GOAL:
            axis.axvspan(GOAL[RETENTION_METRIC], max(1.0, axis.get_xlim()[1]), ymin=0, ymax=1, alpha=0.06, color="green")
            axis.axhline(GOAL[gain], color="green", linewidth=0.8, linestyle=":", label="goal")
        axis.axhline(0, color="grey", linewidth=0.5)
        axis.axvline(0, color="grey", linewidth=0.5)
        axis.set_xlabel(f"{RETENTION_METRIC} Δ (points; right = less forgetting)")
        axis.set_ylabel(f"{gain} Δ (points)")
        axis.set_title(f"{gain} gain vs retention")
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.suptitle("Toy world retention front (means over seeds, paired 95% CI; numbers: adapter scale α, or ensemble weight λ)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _errors(values: np.ndarray, intervals: Sequence[Sequence[float] | None]) -> np.ndarray:
    """`(2, n)` error-bar lengths from `[low, high]` intervals (0 where missing)."""
    pairs = [[v - i[0], i[1] - v] if i else [0.0, 0.0] for v, i in zip(values, intervals)]
    return np.clip(np.array(pairs, dtype=float).T, 0.0, None)


def write_front(results: Sequence[SettingResult], output_dir: str, extra: Mapping | None = None) -> dict[str, str]:
    """`retention.json`, `retention.md` and `retention.png` in `output_dir`."""
    os.makedirs(output_dir, exist_ok=True)
    paths = {name: os.path.join(output_dir, name) for name in ("retention.json", "retention.md", "retention.png")}
    best = best_within_goal(results)
    with open(paths["retention.json"], "w", encoding="utf-8") as handle:
        json.dump({"settings": [asdict(r) for r in results], "goal": GOAL,
                   "best_role_swap_within_retention_goal": best.name if best else None,
                   "confidence_intervals": CI_METHOD, **(extra or {})}, handle, indent=2)
    with open(paths["retention.md"], "w", encoding="utf-8") as handle:
        handle.write(render_front_table(results) + "\n")
    plot_front(results, paths["retention.png"])
    return paths
