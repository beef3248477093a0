"""Suites: several models x several tasks -> one results JSON per pair, a markdown table and a bar chart.

Suite YAML::

    output_dir: outputs/eval_suite          # results/<model>/<task>.json, report.md, report.png, summary.json
    settings: {batch_size: 128, device: cuda}   # any EvaluationArguments field, shared by every run
    references: true                        # show published reference numbers (clearly labelled) in the report
    models:
      - {name: CLIP ViT-B/32, path: openai/clip-vit-base-patch32}
      - {name: FiGCLIP ViT-B/32, path: outputs/figclip-b32}
    tasks:
      - {task: sugarcrepe, data_dir: data/sugar-crepe, image_dir: data/coco/val2017}
      - {task: msrvtt, data_dir: data/msrvtt, video_dir: data/msrvtt/videos, num_frames: 12}

Each model is loaded once and runs every task. Precedence for a run: flags given on the command line next to
`--suite` (e.g. `--device cpu --max_items 20`) > the task entry > `settings` > defaults. Per-run keys (model, task,
folders, output) come only from the suite file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Sequence
from typing import Any

import yaml

from .arguments import ARGUMENT_NAMES, TASKS, EvaluationArguments
from .bootstrap import DEFAULT_RESAMPLES, difference_intervals
from .references import references_for
from .report import format_with_interval, grouped_bar_chart
from .results import EvalResult

Interval = list[float]

HEADLINE_METRICS: dict[str, tuple[str, ...]] = {
    "sugarcrepe": (
        "replace_obj",
        "replace_att",
        "replace_rel",
        "swap_obj",
        "swap_att",
        "add_obj",
        "add_att",
        "replace",
        "swap",
        "add",
    ),
    "aro_vg_relation": ("macro_accuracy",),
    "aro_vg_attribution": ("macro_accuracy",),
    "aro_coco_order": ("accuracy",),
    "aro_flickr_order": ("accuracy",),
    "msrvtt": ("t2v_R@1", "t2v_R@5", "t2v_R@10", "t2v_MedR", "v2t_R@1"),
    "video_retrieval": ("t2v_R@1", "t2v_R@5", "t2v_R@10", "t2v_MedR", "v2t_R@1"),
    "ucf101": ("top1", "top5"),
    "hmdb51": ("top1", "top5"),
    "k600": ("top1", "top5"),
    "vidsitu_verbs": ("Acc@1", "Acc@5", "Rec@5"),
    "extract_features": (),
}
RANK_METRICS = ("MedR", "MnR")
SUITE_KEYS = {"output_dir", "settings", "references", "models", "tasks"}
PER_RUN_KEYS = {
    "model",
    "task",
    "data_dir",
    "image_dir",
    "video_dir",
    "output",
    "config",
    "suite",
    "output_dir",
    "csv_file",
    "predictions_file",
}


def explicit_cli_values(cli_args: EvaluationArguments | None) -> dict[str, Any]:
    """The global flags the user set (values differing from the defaults), which override the suite file."""
    if cli_args is None:
        return {}
    defaults = EvaluationArguments()
    return {
        f.name: getattr(cli_args, f.name)
        for f in dataclasses.fields(EvaluationArguments)
        if f.name not in PER_RUN_KEYS and getattr(cli_args, f.name) != getattr(defaults, f.name)
    }


def is_rank_metric(metric: str) -> bool:
    return metric.endswith(RANK_METRICS)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


def read_suite(path: str) -> dict[str, Any]:
    """Load and check a suite YAML (unknown keys anywhere are errors naming the entry)."""
    with open(path, encoding="utf-8") as handle:
        suite = yaml.safe_load(handle) or {}
    if not isinstance(suite, dict):
        raise ValueError(f"{path}: a suite is a mapping with 'models' and 'tasks'.")  # noqa: TRY004 - a data error
    unknown = sorted(set(suite) - SUITE_KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown suite key(s) {unknown}; valid: {sorted(SUITE_KEYS)}.")
    models, tasks = suite.get("models") or [], suite.get("tasks") or []
    if not models or not tasks:
        raise ValueError(f"{path}: a suite needs non-empty 'models' and 'tasks' lists.")
    for index, model in enumerate(models):
        if not isinstance(model, dict) or not model.get("path") or set(model) - {"name", "path"}:
            raise ValueError(f"{path}: models[{index}] must be {{name: ..., path: ...}}, got {model!r}.")
    for index, task in enumerate(tasks):
        if not isinstance(task, dict) or task.get("task") not in TASKS:
            raise ValueError(f"{path}: tasks[{index}] needs 'task' in {list(TASKS)}, got {task!r}.")
        bad = sorted(set(task) - ARGUMENT_NAMES)
        if bad:
            raise ValueError(f"{path}: tasks[{index}] has unknown key(s) {bad}.")
    bad = sorted(set(suite.get("settings") or {}) - ARGUMENT_NAMES)
    if bad:
        raise ValueError(f"{path}: settings has unknown key(s) {bad}.")
    return suite


def run_suite(path: str, cli_args: EvaluationArguments | None = None, **injected: Any) -> dict[str, Any]:
    """Run every (model, task) of the suite at `path`; write results, `report.md`, `report.png`, `summary.json`."""
    from .runner import load_encoder, run_task

    suite = read_suite(path)
    output_dir = (
        (cli_args.output_dir if cli_args and cli_args.output_dir else None)
        or suite.get("output_dir")
        or "outputs/eval_suite"
    )
    overrides = explicit_cli_values(cli_args)
    base = dataclasses.replace(EvaluationArguments(), **{**(suite.get("settings") or {}), **overrides})
    names = [m.get("name") or m["path"] for m in suite["models"]]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: model names must be unique, got {names}.")
    results: list[EvalResult] = []
    for model_entry, name in zip(suite["models"], names):
        encoder = load_encoder(model_entry["path"], base)
        for task_entry in suite["tasks"]:
            args = dataclasses.replace(base, model=model_entry["path"], **{**task_entry, **overrides})
            args.validate_single_run()
            result = run_task(args.task, encoder, args, name, **injected)
            result.settings["model_path"] = model_entry["path"]
            result.save(os.path.join(output_dir, "results", slug(name), f"{args.task}.json"))
            results.append(result)
        del encoder
    return write_report(results, names, output_dir, with_references=bool(suite.get("references", True)))


def _table_rows(results: Sequence[EvalResult]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for result in results:
        for metric in HEADLINE_METRICS.get(result.task, ()):
            if metric in result.metrics and (result.task, metric) not in rows:
                rows.append((result.task, metric))
    return rows


def paired_differences(results: Sequence[EvalResult], model_names: Sequence[str]) -> dict[tuple[str, str], Interval]:
    """(task, metric) -> paired bootstrap interval of (last model − first model), where both runs kept their item
    tables, scored the same items and had the bootstrap switched on."""
    if len(model_names) < 2:
        return {}
    by_key = {(r.model, r.task): r for r in results}
    intervals: dict[tuple[str, str], Interval] = {}
    for task in dict.fromkeys(r.task for r in results):
        first, last = by_key.get((model_names[0], task)), by_key.get((model_names[-1], task))
        if first is None or last is None or not first.item_tables or not last.item_tables:
            continue
        bootstrap = first.settings.get("confidence_intervals")
        if not bootstrap:
            continue
        try:
            found = difference_intervals(
                [last.item_tables],
                [first.item_tables],
                bootstrap.get("resamples", DEFAULT_RESAMPLES),
                bootstrap.get("seed", 0),
            )
        except ValueError:  # different items (e.g. different skips): no paired interval
            continue
        intervals.update({(task, metric): interval for metric, interval in found.items() if metric in first.metrics})
    return intervals


def _item_counts(results: Sequence[EvalResult]) -> str:
    """`task: n` when every model scored the same items, else `task: model n, model n` (skips in brackets)."""
    parts = []
    for task in dict.fromkeys(r.task for r in results):
        runs = [r for r in results if r.task == task]
        described = {(r.num_items, r.num_skipped) for r in runs}
        if len(described) == 1:
            items, skipped = described.pop()
            parts.append(f"{task} {items}" + (f" ({skipped} skipped)" if skipped else ""))
        else:
            parts.append(
                f"{task} "
                + ", ".join(
                    f"{r.model} {r.num_items}" + (f" ({r.num_skipped} skipped)" if r.num_skipped else "") for r in runs
                )
            )
    return "; ".join(parts)


def render_markdown(
    results: Sequence[EvalResult],
    model_names: Sequence[str],
    with_references: bool = True,
    differences: dict[tuple[str, str], Interval] | None = None,
) -> str:
    """A table with one row per (task, metric), one column per model (value [95 % CI]), Δ (last − first, with its
    paired 95 % CI) and the reference values. `differences` defaults to `paired_differences(results, ...)`."""
    by_key = {(r.model, r.task): r for r in results}
    differences = paired_differences(results, model_names) if differences is None else differences
    rows = _table_rows(results)
    header = ["Task", "Metric", *model_names]
    if len(model_names) >= 2:
        header.append(f"Δ ({model_names[-1]} − {model_names[0]})")
    if with_references:
        header.append("Reference (published, not ours)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    sources: dict[str, int] = {}
    for task, metric in rows:
        runs = [by_key.get((m, task)) for m in model_names]
        values = [run.metrics.get(metric) if run else None for run in runs]
        intervals = [run.confidence_intervals.get(metric) if run else None for run in runs]
        cells = [task, metric + (" ↓" if is_rank_metric(metric) else ""), *map(format_with_interval, values, intervals)]
        if len(model_names) >= 2:
            first, last = values[0], values[-1]
            delta = None if first is None or last is None else last - first
            cells.append(format_with_interval(delta, differences.get((task, metric)), signed=True))
        if with_references:
            refs = []
            for ref in references_for(task, metric):
                number = sources.setdefault(ref.source, len(sources) + 1)
                refs.append(f"{format_with_interval(ref.value)} {ref.model}{'' if ref.verified else ' (unverified)'} [{number}]")
            cells.append("; ".join(refs) or "–")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Items scored: " + _item_counts(results) + ".",
        "Accuracies and recalls in %, ranks (↓) as ranks. [low, high]: 95 % bootstrap confidence interval over the "
        "benchmark's items; for Δ, the paired interval (both models on the same resampled items).",
    ]
    if with_references and sources:
        lines += ["", "Reference values are published numbers from other work, shown for orientation only:"]
        lines += [f"[{number}] {source}" for source, number in sources.items()]
    return "\n".join(lines) + "\n"


def render_chart(
    results: Sequence[EvalResult], model_names: Sequence[str], path: str, with_references: bool = True
) -> str | None:
    """Grouped bars (one group per percent metric, one bar per model) with 95 % confidence intervals as error bars
    and reference values as black markers."""
    rows = [row for row in _table_rows(results) if not is_rank_metric(row[1])]
    if not rows:
        return None
    by_key = {(r.model, r.task): r for r in results}
    series = []
    for name in model_names:
        runs = [by_key.get((name, t)) for t, _ in rows]
        heights = [run.metrics.get(m, float("nan")) if run else float("nan") for run, (_, m) in zip(runs, rows)]
        intervals = [run.confidence_intervals.get(m) if run else None for run, (_, m) in zip(runs, rows)]
        series.append((name, heights, intervals))

    def draw_references(axis, centres, width) -> None:
        labelled: set[bool] = set()
        for position, (task, metric) in zip(centres, rows):
            for ref in references_for(task, metric):
                label = "published reference (not ours)" + ("" if ref.verified else ", unverified")
                axis.plot([position - 0.4, position + 0.4], [ref.value, ref.value], color="black", linewidth=1,
                          linestyle="-" if ref.verified else "--", label=None if ref.verified in labelled else label)
                labelled.add(ref.verified)

    return grouped_bar_chart(
        path, [f"{t}\n{m}" for t, m in rows], series, "FiGCLIP evaluation suite",
        decorate=draw_references if with_references else None,
        figsize=(max(6.0, 0.9 * len(rows) * max(1, len(model_names)) ** 0.5 + 2), 4.5),
    )  # fmt: skip


def write_report(
    results: Sequence[EvalResult], model_names: Sequence[str], output_dir: str, with_references: bool = True
) -> dict[str, Any]:
    """Write `report.md`, `report.png` and `summary.json` into `output_dir`; return the summary."""
    os.makedirs(output_dir, exist_ok=True)
    differences = paired_differences(results, model_names)
    markdown = render_markdown(results, model_names, with_references, differences)
    with open(os.path.join(output_dir, "report.md"), "w", encoding="utf-8") as handle:
        handle.write(markdown)
    chart = render_chart(results, model_names, os.path.join(output_dir, "report.png"), with_references)
    summary = {
        "models": list(model_names),
        "results": [r.to_dict() for r in results],
        "paired_differences": {
            f"{task}/{metric}": {"last_minus_first": interval, "models": [model_names[-1], model_names[0]]}
            for (task, metric), interval in differences.items()
        },
        "markdown": markdown,
        "report_md": os.path.join(output_dir, "report.md"),
        "report_png": chart,
    }
    with open(os.path.join(output_dir, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump({k: v for k, v in summary.items() if k != "markdown"}, handle, indent=2, default=str)
    return summary
