"""Read a frame cache: random access by clip id, and `FrameCacheLoader`, a drop-in for `VidSituFrameLoader`.

The shards are memory-mapped Arrow files (`datasets.Dataset.from_file`): opening the cache reads no frame, and a
clip costs one row lookup plus the JPEG decoding of the frames actually sampled (20 of the ~100 stored).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..frames import event_sample_times, incomplete_clip_error, jitter_generator, segment_offsets
from ..schema import NUM_EVENTS, VidSituFormatError
from .jpeg import JpegDecoder, Normalizer
from .layout import NO_FRAME, Manifest, candidate_choice, candidate_times, error_from_record

logger = logging.getLogger(__name__)


@dataclass
class CachedClip:
    """One row of the cache, without decoding anything."""

    clip_id: str
    source: str
    jpegs: Any  # pyarrow BinaryArray of the stored JPEG frames
    eval_index: np.ndarray  # (events * frames_per_event,)
    candidate_index: np.ndarray  # (events, frames_per_event, K)
    error: VidSituFormatError | None

    def jpeg(self, index: int) -> memoryview:
        """The JPEG bytes of stored frame ``index`` (a view into the memory-mapped shard)."""
        return memoryview(self.jpegs[index].as_buffer())


class FrameCache:
    """The clips of a built cache by id (see `layout`). Picklable: a dataloader worker reopens the shards lazily."""

    def __init__(self, cache_dir: str):
        self.cache_dir = os.fspath(cache_dir)
        self.manifest = Manifest.load(self.cache_dir)
        self.settings = self.manifest.settings
        self.index: dict[str, tuple[int, int]] = {
            clip_id: (shard, row)
            for shard, record in enumerate(self.manifest.shards)
            for row, clip_id in enumerate(record.clip_ids)
        }
        self._tables: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, clip_id: str) -> bool:
        return clip_id in self.index

    @property
    def shard_paths(self) -> list[str]:
        return [os.path.join(self.cache_dir, shard.file) for shard in self.manifest.shards]

    def _table(self, shard: int):
        if shard not in self._tables:
            import datasets

            self._tables[shard] = datasets.Dataset.from_file(self.shard_paths[shard]).data.table
        return self._tables[shard]

    def get(self, clip_id: str) -> CachedClip | None:
        """The clip's row, or None if the cache does not hold it."""
        if clip_id not in self.index:
            return None
        shard, row = self.index[clip_id]
        table = self._table(shard).slice(row, 1)
        settings = self.settings
        error = table.column("error")[0].as_py()
        candidates = np.asarray(table.column("candidate_index")[0].values, dtype=np.int64)
        return CachedClip(
            clip_id=clip_id,
            source=table.column("source")[0].as_py(),
            jpegs=table.column("frames").chunk(0).flatten().field("bytes"),
            eval_index=np.asarray(table.column("eval_index")[0].values, dtype=np.int64),
            candidate_index=candidates.reshape(NUM_EVENTS, settings.frames_per_event, settings.candidates),
            error=error_from_record(error) if error is not None else None,
        )

    def dataset(self):
        """All shards as one memory-mapped `datasets.Dataset` (no copy). ``.to_iterable_dataset(num_shards=…)`` and
        `datasets.distributed.split_dataset_by_node` stream it over nodes; ``frames`` decodes to PIL images."""
        import datasets

        return datasets.concatenate_datasets([datasets.Dataset.from_file(path) for path in self.shard_paths])

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_tables": {}}


class FrameCacheLoader:
    """`VidSituFrameLoader`'s row transform, reading a frame cache instead of decoding videos.

    Adds ``pixel_values_videos`` ``(5, frames_per_event, 3, H, W)``, ``event_mask`` ``(5,)`` and ``frames_problem``
    (``""`` or the lenient-mode reason a clip lost frames) to every row, with the loader's sampling (segment
    centres, or seeded jitter = f(seed, epoch, clip) choosing among the cached candidate
    times), its strict/lenient errors and its lenient counts in `stats`. Frames come at the cache's crop size.

    Args:
        cache_dir: a built cache (`build_frame_cache`) or an open `FrameCache`.
        frames_per_event: must equal the cache's (checked).
        jitter, seed: as `VidSituFrameLoader`; `set_epoch` every epoch.
        image_mean, image_std: normalise to CLIP pixel values (float32) as the image processor does; without them
            the frames are uint8 (or whatever ``image_transform`` returns).
        image_transform: the loader's hook, called per clip on uint8 frames ``(n, H, W, 3)`` (slower than
            ``image_mean``/``image_std``; for compatibility).
        strict: raise on a clip that could not be cached/decoded or is too short (True), or mask and count it.
        decoder: a `JpegDecoder` (default: torchvision on the CPU).
        decode: False returns the sampled JPEG bytes instead of pixels (``jpeg_frames``: per clip a list of
            ``5 * frames_per_event`` uint8 tensors, empty where there is no frame), for decoding on the GPU with
            `decode_on_device`.
    """

    def __init__(
        self,
        cache_dir: str | FrameCache,
        frames_per_event: int | None = None,
        jitter: bool = False,
        seed: int | None = None,
        image_mean: tuple[float, ...] | None = None,
        image_std: tuple[float, ...] | None = None,
        image_transform: Callable[[np.ndarray], Any] | None = None,
        strict: bool = True,
        decoder: JpegDecoder | None = None,
        decode: bool = True,
    ):
        self.cache = cache_dir if isinstance(cache_dir, FrameCache) else FrameCache(cache_dir)
        settings = self.cache.settings
        if frames_per_event is not None and frames_per_event != settings.frames_per_event:
            raise ValueError(
                f"the frame cache {self.cache.cache_dir} holds {settings.frames_per_event} frames per event, "
                f"not {frames_per_event}: rebuild it with --frames_per_event {frames_per_event}."
            )
        if (image_mean is None) != (image_std is None):
            raise ValueError("give both image_mean and image_std, or neither")
        self.frames_per_event = settings.frames_per_event
        self.candidates = settings.candidates
        self.frame_size = tuple(settings.crop_size)
        self.jitter = jitter
        self.seed = seed
        self.normalizer = Normalizer(image_mean, image_std) if image_mean is not None else None
        self.image_transform = image_transform
        self.strict = strict
        self.decoder = decoder if decoder is not None else JpegDecoder("cpu")
        self.decode = decode
        self.epoch = 0
        self.stats: Counter = Counter()
        self._problem = ""  # the lenient-mode reason the clip being read lost frames (`frames_problem`)
        self._candidate_times = candidate_times(self.frames_per_event, self.candidates)
        self._rng: np.random.Generator | None = None
        self._rng_pid: int | None = None

    def check_processor(self, image_processor) -> None:
        """Raise `ValueError` if ``image_processor`` resizes or crops differently from the cache's frames (the cache
        was built for another model size)."""
        from .build import processor_settings

        crop, resize = processor_settings(image_processor)
        settings = self.cache.settings
        if crop != tuple(settings.crop_size) or resize["size"] != settings.resize["size"]:
            raise ValueError(
                f"the frame cache {self.cache.cache_dir} holds frames resized to {settings.resize['size']} and cropped "
                f"to {tuple(settings.crop_size)}, but the model's image processor resizes to {resize['size']} and "
                f"crops to {crop}: build a cache for this model (--model_name_or_path)."
            )

    # ----------------------------------------------------------------------------------------------- sampling
    def set_epoch(self, epoch: int) -> None:
        """Seeded jitter draws new candidates each epoch (set before the epoch's dataloader workers start)."""
        self.epoch = int(epoch)

    def _generator(self, clip_id: str) -> np.random.Generator:
        if self.seed is not None:
            return jitter_generator(self.seed, self.epoch, clip_id)
        if self._rng is None or self._rng_pid != os.getpid():  # a forked worker must not reuse the parent's state
            self._rng = np.random.default_rng()
            self._rng_pid = os.getpid()
        return self._rng

    def sample_choice(self, clip_id: str) -> np.ndarray | None:
        """The candidate picked in each segment ``(5, frames_per_event)``, or None without jitter (segment centres).
        The same uniform draws as `VidSituFrameLoader.sample_times`, so candidate ``floor(u K)`` is the one whose
        sub-segment holds the decoded loader's time."""
        if not self.jitter:
            return None
        offsets = segment_offsets(self.frames_per_event, jitter=True, rng=self._generator(clip_id))
        return candidate_choice(offsets, self.candidates)

    def sample_times(self, clip_id: str = "") -> np.ndarray:
        """The times ``(5, frames_per_event)`` in seconds whose frames a clip gets (draws like `sample_choice`)."""
        choice = self.sample_choice(clip_id)
        if choice is None:
            return event_sample_times(self.frames_per_event)
        return np.take_along_axis(self._candidate_times, choice[..., None], axis=-1)[..., 0]

    # ----------------------------------------------------------------------------------------------- frames
    def _sampled_jpegs(self, clip_id: str) -> tuple[list[memoryview | None], list[int | None]]:
        """Per sampling time, the stored JPEG (None: no frame) and its index in the row, with the loader's
        strict/lenient handling of a clip that is not cached, failed to decode, or is too short (which sets
        ``self._problem``)."""
        self._problem = ""
        count = NUM_EVENTS * self.frames_per_event
        clip = self.cache.get(clip_id)
        error = clip.error if clip is not None else VidSituFormatError(
            "clip not in the frame cache", file=self.cache.cache_dir, clip_id=clip_id, reason="missing_video"
        )  # fmt: skip
        choice = self.sample_choice(clip_id)  # drawn even for a bad clip: the generator advances as the loader's
        if error is not None:
            if self.strict:
                raise error
            self._count(error)
            return [None] * count, [None] * count
        if choice is None:
            indices = clip.eval_index
        else:
            indices = np.take_along_axis(clip.candidate_index, choice[..., None], axis=-1).reshape(-1)
        stored = [int(index) if index != NO_FRAME else None for index in indices]
        missing = [k for k, index in enumerate(stored) if index is None]
        if missing:
            error = incomplete_clip_error(clip.source, clip_id, missing, count, self.frames_per_event)
            if self.strict:
                raise error
            if len(missing) < count:
                self._count(error)
        return [clip.jpeg(index) if index is not None else None for index in stored], stored

    def _sample_clips(self, clip_ids: list[str]) -> tuple[list, list[str]]:
        """`_sampled_jpegs` of each clip, in order, and each clip's ``frames_problem``."""
        sampled, problems = [], []
        for clip_id in clip_ids:
            sampled.append(self._sampled_jpegs(clip_id))
            problems.append(self._problem)
        return sampled, problems

    def _decode_clips(self, sampled: list) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 frames ``(clips, 5, F, 3, H, W)`` (zeros for masked events) and masks ``(clips, 5)`` of sampled clips,
        with one batched decoder call for every distinct sampled frame, and one copy into the output."""
        per_event = self.frames_per_event
        present = torch.tensor([[index is not None for index in stored] for _, stored in sampled], dtype=torch.bool)
        masks = present.view(len(sampled), NUM_EVENTS, per_event).all(dim=2)
        unique: dict[tuple[int, int], int] = {}
        blobs: list[memoryview] = []
        for clip_number, (jpegs, stored) in enumerate(sampled):
            for slot, (jpeg, index) in enumerate(zip(jpegs, stored)):
                # An incomplete event is all zeros (as the loader's): its present frames are not even decoded.
                if masks[clip_number, slot // per_event] and (clip_number, index) not in unique:
                    unique[(clip_number, index)] = len(blobs)
                    blobs.append(jpeg)
        decoded = self.decoder.decode_list(blobs) if blobs else []
        zeros = torch.zeros(3, *self.frame_size, dtype=torch.uint8)
        slots = [
            decoded[unique[(clip_number, index)]] if masks[clip_number, slot // per_event] else zeros
            for clip_number, (_, stored) in enumerate(sampled)
            for slot, index in enumerate(stored)
        ]
        frames = torch.stack([slot.cpu() for slot in slots])
        return frames.view(len(sampled), NUM_EVENTS, per_event, 3, *self.frame_size), masks

    def load(self, clip_id: str) -> tuple[np.ndarray, np.ndarray]:
        """Frames ``(5, frames_per_event, H, W, 3)`` uint8 and ``event_mask`` ``(5,)`` (as `VidSituFrameLoader.load`)."""
        frames, masks = self._decode_clips(self._sample_clips([clip_id])[0])
        return frames[0].permute(0, 1, 3, 4, 2).numpy(), masks[0].numpy()

    def _count(self, error: VidSituFormatError) -> None:
        self.stats[error.reason] += 1
        self._problem = error.reason
        logger.warning("Skipping frames (lenient mode): %s", error)

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        """The ``with_transform`` hook: adds ``pixel_values_videos`` (or ``jpeg_frames``), ``event_mask`` and
        ``frames_problem``."""
        if "clip_id" not in batch:
            return batch
        sampled, problems = self._sample_clips(list(batch["clip_id"]))
        if not self.decode:
            jpegs, masks = [], []
            empty = torch.empty(0, dtype=torch.uint8)
            for clip_jpegs, _ in sampled:
                present = torch.tensor([j is not None for j in clip_jpegs]).view(NUM_EVENTS, self.frames_per_event)
                complete = present.all(dim=1)
                jpegs.append([
                    torch.tensor(np.frombuffer(j, np.uint8)) if j is not None and complete[k // self.frames_per_event]
                    else empty
                    for k, j in enumerate(clip_jpegs)
                ])  # fmt: skip
                masks.append(complete)
            return {**batch, "jpeg_frames": jpegs, "event_mask": masks, "frames_problem": problems}
        frames, masks = self._decode_clips(sampled)
        if self.image_transform is not None:
            pixels = []
            for clip in frames:
                flat = clip.flatten(0, 1).permute(0, 2, 3, 1).numpy()
                result = self.image_transform(flat)
                result = result if isinstance(result, torch.Tensor) else torch.as_tensor(np.asarray(result))
                pixels.append(result.reshape(NUM_EVENTS, self.frames_per_event, *result.shape[1:]))
        else:
            values = self.normalizer(frames) if self.normalizer is not None else frames
            pixels = list(values.unbind(0))
        return {**batch, "pixel_values_videos": pixels, "event_mask": list(masks.unbind(0)), "frames_problem": problems}

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_rng": None, "_rng_pid": None, "_problem": ""}

    def __repr__(self) -> str:
        return (
            f"FrameCacheLoader({self.cache.cache_dir!r}, frames_per_event={self.frames_per_event}, "
            f"candidates={self.candidates}, jitter={self.jitter}, frame_size={self.frame_size}, strict={self.strict})"
        )


def decode_on_device(
    jpeg_frames: list[list[torch.Tensor]],
    frames_per_event: int,
    decoder: JpegDecoder,
    normalizer: Normalizer | None = None,
) -> torch.Tensor:
    """``jpeg_frames`` of a batch (from ``FrameCacheLoader(decode=False)``) → ``(B, 5, F, 3, H, W)`` on the
    decoder's device, normalised if ``normalizer`` is given; zeros where a clip has no frame. One batched call."""
    present = [
        (clip, slot) for clip, jpegs in enumerate(jpeg_frames) for slot, blob in enumerate(jpegs) if blob.numel()
    ]
    if not present:
        raise ValueError("no frame to decode in this batch")
    decoded = decoder([jpeg_frames[clip][slot].numpy() for clip, slot in present])
    out = decoded.new_zeros(len(jpeg_frames), NUM_EVENTS * frames_per_event, *decoded.shape[1:])
    clips = torch.tensor([clip for clip, _ in present], device=decoded.device)
    slots = torch.tensor([slot for _, slot in present], device=decoded.device)
    out[clips, slots] = decoded
    out = out.view(len(jpeg_frames), NUM_EVENTS, frames_per_event, *decoded.shape[1:])
    return normalizer(out) if normalizer is not None else out
