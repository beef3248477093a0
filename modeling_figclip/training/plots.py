"""Loss-curve figure written at the end of training."""

from __future__ import annotations

from typing import Any


def plot_loss_curve(log_history: list[dict[str, Any]], path: str) -> str | None:
    """Plot training loss terms (and evaluation loss) against the optimizer step; returns `path` or None if empty."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, tuple[list[int], list[float]]] = {}
    for record in log_history:
        for name, value in record.items():
            if (name.startswith("train_loss") or name == "eval_loss") and isinstance(value, (int, float)):
                steps, values = series.setdefault(name, ([], []))
                steps.append(record["step"])
                values.append(value)
    if not series:
        return None
    figure, axis = plt.subplots(figsize=(7, 4))
    for name, (steps, values) in sorted(series.items()):
        axis.plot(steps, values, marker="o" if len(steps) < 30 else None, label=name)
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("loss")
    axis.set_title("FiGCLIP training")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
