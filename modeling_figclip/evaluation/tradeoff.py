"""One adapter, one task, several read-outs in one run: the retention trade-off of `evaluate_figclip.py`.

`--adapter_scales 0,0.25,0.5,0.75,1` reads the adapter out at every adapter scale α (`set_adapter_scale`: α = 0 is the
base model, α = 1 the adapter as trained) and `--feature_ensembles 0.25,0.5` at every feature-ensemble weight λ
(`set_feature_ensemble`). The adapter is loaded once and kept unmerged; images and frames are encoded once per
read-out, texts once for all of them whenever the text tower does not change with the read-out (the paper's frozen
text tower). Writes `tradeoff.json`, `tradeoff.md` (every metric with its 95 % interval, per read-out) and
`tradeoff.png` (each metric against α and λ) into `--output_dir` (default: the folder of `--output`, else the current
folder).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

from .arguments import EvaluationArguments
from .report import format_with_interval
from .results import EvalResult
from .runner import DTYPES, encoder_for, resolve_device, run_task

logger = logging.getLogger(__name__)

ADAPTER_SCALE, FEATURE_ENSEMBLE = "adapter_scale", "feature_ensemble"


@dataclass(frozen=True)
class ReadOut:
    """How the adapter is read out: `kind` is `adapter_scale` (α) or `feature_ensemble` (λ)."""

    kind: str
    value: float

    @property
    def label(self) -> str:
        return f"α = {self.value:g}" if self.kind == ADAPTER_SCALE else f"ensemble λ = {self.value:g}"


def parse_values(text: str | None, flag: str) -> list[float]:
    """`"0,0.5,1"` -> `[0.0, 0.5, 1.0]`: distinct values in [0, 1], sorted; nothing for None or empty."""
    if not text or not str(text).strip():
        return []
    try:
        values = sorted({float(part) for part in str(text).split(",") if part.strip()})
    except ValueError as error:
        raise ValueError(f"{flag} must be comma-separated numbers in [0, 1], got {text!r}.") from error
    if not all(0.0 <= value <= 1.0 for value in values):
        raise ValueError(f"{flag} needs values in [0, 1], got {text!r}.")
    return values


def read_outs(args: EvaluationArguments) -> list[ReadOut]:
    """The read-outs `args` asks for: every α of `--adapter_scales`, then every λ of `--feature_ensembles`."""
    return [ReadOut(ADAPTER_SCALE, v) for v in parse_values(args.adapter_scales, "--adapter_scales")] + [
        ReadOut(FEATURE_ENSEMBLE, v) for v in parse_values(args.feature_ensembles, "--feature_ensembles")
    ]


def apply_read_out(model, read_out: ReadOut) -> None:
    """Set `model` (an unmerged adapter) to `read_out`, the other setting back to the adapter as trained."""
    from ..adapters import set_adapter_scale, set_feature_ensemble

    if read_out.kind == ADAPTER_SCALE:
        set_feature_ensemble(model, 1.0)
        set_adapter_scale(model, read_out.value)
    else:
        set_adapter_scale(model, 1.0)
        set_feature_ensemble(model, read_out.value)


def evaluate_tradeoff(args: EvaluationArguments, **injected: Any) -> dict[str, Any]:
    """Evaluate `args.model` (a FiGCLIP adapter) on `args.task` at every read-out; write and return the summary."""
    from ..loading import load_model_for_inference

    args.validate_single_run()
    settings = read_outs(args)
    if not settings:
        raise ValueError("--adapter_scales / --feature_ensembles: give at least one value.")
    if args.task == "extract_features":
        raise ValueError("--adapter_scales / --feature_ensembles compare metrics; extract_features has none (extract "
                         "one read-out at a time with FigClipModel.from_pretrained(..., adapter_scale=)).")
    device = resolve_device(args.device)
    loaded = load_model_for_inference(args.model, device=device, dtype=DTYPES[args.dtype], merge_adapters=False)
    if loaded.kind != "figclip-adapter":
        raise ValueError(f"--adapter_scales / --feature_ensembles need a FiGCLIP adapter; {args.model} is a "
                         f"{loaded.kind} checkpoint (nothing to scale).")
    encoder = encoder_for(loaded, args, device)
    text_caches: dict[str, dict] = {}
    results: list[tuple[ReadOut, EvalResult]] = []
    for read_out in settings:
        apply_read_out(loaded.model, read_out)
        # Shared only between read-outs whose text towers are identical (always, with the frozen text tower).
        encoder.text_cache = text_caches.setdefault(encoder.text_tower_fingerprint(), {})
        logger.info("%s on %s at %s", args.model, args.task, read_out.label)
        result = run_task(args.task, encoder, args, args.model, **injected)
        result.settings["read_out"] = {read_out.kind: read_out.value}
        results.append((read_out, result))
    output_dir = args.output_dir or (os.path.dirname(os.path.abspath(args.output)) if args.output else ".")
    return write_tradeoff(results, args.task, args.model, output_dir)


def render_tradeoff_markdown(results: list[tuple[ReadOut, EvalResult]], task: str, model: str) -> str:
    metrics = list(results[0][1].metrics)
    lines = [f"{task}, {model}: every metric [95 % interval] per read-out (α: adapter scale, λ: feature ensemble)",
             "", "| read-out | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for read_out, result in results:
        cells = [format_with_interval(result.metrics.get(m), result.confidence_intervals.get(m)) for m in metrics]
        lines.append(f"| {read_out.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_tradeoff(results: list[tuple[ReadOut, EvalResult]], task: str, path: str) -> str:
    """One panel per metric: the metric against α (and against λ), with 95 % intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = list(results[0][1].metrics)
    figure, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.2), squeeze=False)
    for axis, metric in zip(axes[0], metrics):
        for kind, marker in ((ADAPTER_SCALE, "o-"), (FEATURE_ENSEMBLE, "s--")):
            points = [(r.value, res) for r, res in results if r.kind == kind and metric in res.metrics]
            if not points:
                continue
            xs = [value for value, _ in points]
            ys = [float(res.metrics[metric]) for _, res in points]
            errors = [[y - res.confidence_intervals[metric][0] for (_, res), y in zip(points, ys)],
                      [res.confidence_intervals[metric][1] - y for (_, res), y in zip(points, ys)]] \
                if all(metric in res.confidence_intervals for _, res in points) else None
            axis.errorbar(xs, ys, yerr=errors, fmt=marker, capsize=3,
                          label="adapter scale α" if kind == ADAPTER_SCALE else "feature ensemble λ")
        axis.set_title(metric, fontsize=9)
        axis.set_xlabel("α or λ")
        axis.legend(fontsize=7)
    figure.suptitle(f"{task}: retention trade-off (95 % intervals)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def write_tradeoff(results: list[tuple[ReadOut, EvalResult]], task: str, model: str, output_dir: str) -> dict[str, Any]:
    """Write `tradeoff.{json,md,png}` into `output_dir`; return the summary (with the markdown)."""
    os.makedirs(output_dir, exist_ok=True)
    markdown = render_tradeoff_markdown(results, task, model)
    paths = {name: os.path.join(output_dir, f"tradeoff.{name}") for name in ("json", "md", "png")}
    with open(paths["md"], "w", encoding="utf-8") as handle:
        handle.write(markdown)
    plot_tradeoff(results, task, paths["png"])
    summary = {"task": task, "model": model,
               "read_outs": [{"kind": r.kind, "value": r.value, "label": r.label, "result": res.to_dict()}
                             for r, res in results],
               "files": paths}
    with open(paths["json"], "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, default=str)
    return {**summary, "markdown": markdown}
