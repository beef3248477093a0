"""What lenient mode (``--strict false``) left out, from preparation to the last training step, counted per reason.

Preparation (the VidSitu builder) skips clips with malformed annotations or missing videos and drops empty role
values; its summary is read back with the prepared split, also from the `datasets` cache. During training the frame
loader masks the events of a clip it cannot decode (a corrupt or short video): such a video enters no loss term
(`FigClipModel` leaves videos without a present event out), and a batch in which no process has a present event is
skipped on every process. Everything is printed at every run and recorded in `train_results.json` and the model card.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import torch

from dataset_scripts.vidsitu.reader import ReadSummary


@dataclass
class TrainingSkips:
    """Counts of what the frame loader could not provide during training (per process until `merged`)."""

    #: reason -> videos with no loadable event (they enter no loss)
    videos_without_frames: Counter = field(default_factory=Counter)
    #: reason -> videos that lost some of their events (the rest train)
    videos_with_missing_events: Counter = field(default_factory=Counter)
    #: training batches skipped because no process had a present event in them
    batches_skipped: int = 0

    def count(self, batch: dict[str, Any]) -> None:
        """Count the videos of one collated batch (`collate_clips`) that lost frames."""
        for problem, events in zip(batch["frames_problems"], batch["event_mask"]):
            if not bool(events.any()):
                self.videos_without_frames[problem or "no_frames"] += 1
            elif problem:
                self.videos_with_missing_events[problem] += 1

    def merged(self, accelerator) -> dict[str, Any]:
        """The counts summed over every process, as a JSON-ready dict (every process must call this)."""
        from accelerate.utils import gather_object

        parts = gather_object([self.as_dict()]) if accelerator.num_processes > 1 else [self.as_dict()]
        total = TrainingSkips()
        for part in parts:
            total.videos_without_frames.update(part["videos_without_frames"])
            total.videos_with_missing_events.update(part["videos_with_missing_events"])
        total.batches_skipped = parts[0]["batches_skipped"]  # decided jointly: the same on every process
        return total.as_dict()

    def as_dict(self) -> dict[str, Any]:
        return {
            "videos_without_frames": dict(self.videos_without_frames),
            "videos_with_missing_events": dict(self.videos_with_missing_events),
            "batches_skipped": self.batches_skipped,
        }


def no_events_anywhere(event_mask: torch.Tensor, accelerator) -> bool:
    """True when no process's batch has a present event: every process must then skip the batch together (the loss
    gathers across processes, and a process without frames would leave DDP waiting for its gradients)."""
    empty = torch.tensor([0.0 if bool(event_mask.any()) else 1.0], device=accelerator.device)
    if accelerator.num_processes > 1:
        empty = accelerator.reduce(empty, reduction="sum")
    return bool(empty.item() > 0)


def format_preparation_summary(summary: dict[str, Any]) -> str:
    """One split's builder summary (`ReadSummary.as_dict`) as the builder prints it."""
    read = ReadSummary(summary.get("split", "?"))
    read.clips_in_split = summary.get("clips_in_split", 0)
    read.clips_kept = summary.get("clips_kept", 0)
    read.skipped_clips.update(summary.get("skipped_clips", {}))
    read.dropped_annotations.update(summary.get("dropped_annotations", {}))
    read.empty_values.update(summary.get("empty_values", {}))
    read.examples = list(summary.get("examples", []))
    text = read.format()
    levels = summary.get("negative_fill_levels")
    if levels:
        text += f"\n  negatives per fill level (events): {levels}"
    return text


def format_training_skips(skips: dict[str, Any]) -> str:
    """The merged `TrainingSkips` as one line."""
    return (
        f"lenient mode during training: {sum(skips['videos_without_frames'].values())} video reads without any frame "
        f"{skips['videos_without_frames']}, {sum(skips['videos_with_missing_events'].values())} with missing events "
        f"{skips['videos_with_missing_events']}, {skips['batches_skipped']} batches skipped"
    )
