"""Row transforms applied on access: fresh negatives every epoch, then frames.

`datasets` holds one transform per dataset; `VidSituTransform` chains ours and passes ``set_epoch`` to each, so a
training loop has one object to tell the epoch to. `attach_transform` installs it under its own format type
(``"vidsitu"``): for the generic ``with_transform`` format, `datasets` formats whole rows even when one column is
read (``dataset["clip_id"]``), which would decode every video of the split; under ``"vidsitu"`` a column read sees
that column only, and the transforms run only on whole rows.
"""

from __future__ import annotations

from collections.abc import Callable

import datasets
from datasets.formatting import CustomFormatter, _register_formatter

from .negatives import NegativeSampler

#: The format type `attach_transform` installs (a `CustomFormatter` registered under this name).
FORMAT_TYPE = "vidsitu"
#: Columns every prepared row has: the transforms run only on batches that carry them (whole rows).
ROW_COLUMNS = ("clip_id", "events")


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
        if not all(column in batch for column in ROW_COLUMNS):  # one column read: nothing to decode or draw
            return batch
        for transform in self.transforms:
            batch = transform(batch)
        return batch

    def __repr__(self) -> str:
        return f"VidSituTransform({', '.join(map(repr, self.transforms))})"


class VidSituFormatter(CustomFormatter):
    """`datasets`' custom formatter under its own format type, so that reading one column selects that column
    before formatting (`datasets` only does so for non-``"custom"`` types)."""


_register_formatter(VidSituFormatter, FORMAT_TYPE)


def attach_transform(dataset: datasets.Dataset, transform: VidSituTransform) -> datasets.Dataset:
    """``dataset`` with ``transform`` applied on access to whole rows (``dataset[i]``, slices, a DataLoader), while
    ``dataset["events"]`` or ``dataset["clip_id"]`` read the stored column without running it. Survives ``select``
    and ``shuffle``; ``with_format(None)`` removes it."""
    return dataset.with_format(FORMAT_TYPE, transform=transform)


def vidsitu_transform(dataset) -> VidSituTransform | None:
    """The `VidSituTransform` that `load_vidsitu` attached to ``dataset`` (``set_epoch`` on it every epoch), or None."""
    transform = dataset.format.get("format_kwargs", {}).get("transform")
    return transform if isinstance(transform, VidSituTransform) else None
