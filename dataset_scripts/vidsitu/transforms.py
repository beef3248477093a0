"""Row transforms applied on access (``dataset.with_transform``): fresh negatives every epoch, then frames.

`datasets` holds one transform per dataset; `VidSituTransform` chains ours and passes ``set_epoch`` to each, so a
training loop has one object to tell the epoch to.
"""

from __future__ import annotations

from collections.abc import Callable

from .negatives import NegativeSampler


class EpochNegatives:
    """Redraw every event's ``negative_prompts`` for the current epoch (the paper's "randomly replaces").

    The draw of event ``k`` of clip ``c`` in epoch ``e`` is a pure function of ``(seed, e, c, k)`` (rule N5), so it
    does not depend on the worker, the batch order, a resume or the number of processes. A batch without both
    ``clip_id`` and ``events`` (e.g. ``dataset["events"]``) is returned as is, with the prepared (fixed) negatives.

    Args:
        sampler: the `NegativeSampler` of the split (lexicon, count, seed and prompt style of the prepared rows).
    """

    def __init__(self, sampler: NegativeSampler):
        self.sampler = sampler
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        if "clip_id" not in batch or "events" not in batch:
            return batch
        draw, epoch = self.sampler.draw, self.epoch
        events = [
            [
                {**event, "negative_prompts": draw(event, clip_id, index, epoch).prompts}
                for index, event in enumerate(clip_events)
            ]
            for clip_id, clip_events in zip(batch["clip_id"], batch["events"])
        ]
        return {**batch, "events": events}

    def __repr__(self) -> str:
        return f"EpochNegatives({self.sampler!r}, epoch={self.epoch})"


class VidSituTransform:
    """Apply row transforms in order (e.g. `EpochNegatives`, then `VidSituFrameLoader`); ``set_epoch`` reaches all."""

    def __init__(self, *transforms: Callable[[dict], dict] | None):
        self.transforms = [transform for transform in transforms if transform is not None]

    def set_epoch(self, epoch: int) -> None:
        for transform in self.transforms:
            if hasattr(transform, "set_epoch"):
                transform.set_epoch(epoch)

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        for transform in self.transforms:
            batch = transform(batch)
        return batch

    def __repr__(self) -> str:
        return f"VidSituTransform({', '.join(map(repr, self.transforms))})"


def vidsitu_transform(dataset) -> VidSituTransform | None:
    """The `VidSituTransform` that `load_vidsitu` attached to ``dataset`` (``set_epoch`` on it every epoch), or None."""
    transform = dataset.format.get("format_kwargs", {}).get("transform")
    return transform if isinstance(transform, VidSituTransform) else None
