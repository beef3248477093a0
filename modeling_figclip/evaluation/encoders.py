"""Batched, de-duplicated embedding of texts, images and videos for any CLIP-family model.

`ClipEncoder` wraps a model (`CLIPModel`, `FigClipModel`, a merged checkpoint or a peft-wrapped model), its tokenizer
and image processor. Every unique text / image key / video key is encoded exactly once, in batches, with a progress
bar; results are L2-normalised float32 CPU tensors in an `EmbeddingTable` that maps keys to rows.

Videos: frames go through the image encoder once each. The CLIP-level video embedding is the re-normalised mean of
the normalised frame embeddings (what the paper uses for zero-shot retrieval, without the Video Contextualizer);
`FigClipModel.get_video_features` is used when the model has it, and `use_contextualizer=True` returns the
contextualised (VC-level) embeddings instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..utils import l2_normalize, to_embedding_tensor


@dataclass
class EmbeddingTable:
    """Embeddings of unique keys: `embeddings[rows[key]]`; keys that failed to load are in `failures` (key -> why)."""

    embeddings: torch.Tensor
    rows: dict[Hashable, int]
    failures: dict[Hashable, str] = field(default_factory=dict)

    def lookup(self, keys: Sequence[Hashable]) -> torch.Tensor:
        """`(len(keys), dim)` embeddings in the order of `keys` (every key must have been encoded)."""
        return self.embeddings[torch.as_tensor([self.rows[k] for k in keys], dtype=torch.long)]

    def __contains__(self, key: Hashable) -> bool:
        return key in self.rows


@dataclass
class VideoEmbeddings:
    """Per unique video key (row `rows[key]`), L2-normalised embeddings at every level.

    Attributes:
        frames: `(n, events, frames, dim)`; zeros where `frame_mask` is False (events padded when frames are grouped
            unevenly for the contextualiser).
        events, videos: `(n, events, dim)` and `(n, dim)` at the requested level: CLIP-level means, or the
            contextualised tokens with `use_contextualizer=True`.
        clip_events, clip_videos: always the CLIP-level means (equal to `events`/`videos` without the contextualiser).
        frame_mask: `(n, events, frames)` bool.
        rows: key -> row; failures: key -> why it could not be loaded (`--skip_missing`).
    """

    frames: torch.Tensor
    events: torch.Tensor
    videos: torch.Tensor
    clip_events: torch.Tensor
    clip_videos: torch.Tensor
    frame_mask: torch.Tensor
    rows: dict[Hashable, int]
    failures: dict[Hashable, str] = field(default_factory=dict)
    contextualized: bool = False

    def table(self) -> EmbeddingTable:
        """The video-level embeddings (at the requested level) as an `EmbeddingTable`."""
        return EmbeddingTable(self.videos, self.rows, self.failures)


@dataclass
class VideoFeatures:
    """Embeddings of one batch of videos (see `VideoEmbeddings` for the fields)."""

    frames: torch.Tensor
    events: torch.Tensor
    videos: torch.Tensor
    clip_events: torch.Tensor
    clip_videos: torch.Tensor


class _LoadingDataset(Dataset):
    """Loads and preprocesses one key per item; failures are returned (not raised) so the caller decides."""

    def __init__(
        self, keys: Sequence[Hashable], load: Callable[[Hashable], Any], process: Callable[[Any], torch.Tensor]
    ):
        self.keys, self.load, self.process = list(keys), load, process

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int):
        try:
            return index, self.process(self.load(self.keys[index])), None
        except Exception as error:  # noqa: BLE001 - report which key failed; the encoder raises or skips
            return index, None, f"{type(error).__name__}: {error}"


def _collate(batch):
    return batch


def group_frames_into_events(num_frames: int, max_events: int, max_frames_per_event: int) -> list[list[int]]:
    """Split `num_frames` consecutive frames into the fewest events the contextualiser accepts (balanced sizes)."""
    num_events = math.ceil(num_frames / max_frames_per_event)
    if num_events > max_events:
        raise ValueError(
            f"{num_frames} frames need {num_events} events of at most {max_frames_per_event} frames, but the Video "
            f"Contextualizer takes at most {max_events} events; use --num_frames <= {max_events * max_frames_per_event}."
        )
    return [chunk.tolist() for chunk in np.array_split(np.arange(num_frames), num_events)]


class ClipEncoder:
    """Embeds texts, images and videos with a CLIP-family model in batches (see the module docstring)."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        image_processor: Any,
        batch_size: int = 64,
        num_workers: int = 0,
        device: str | None = None,
        show_progress: bool = True,
        skip_failures: bool = False,
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        self.show_progress = show_progress
        self.skip_failures = skip_failures
        #: text -> embedding, shared by encoders whose text towers are identical (see `text_tower_fingerprint`):
        #: a frozen-text FiGCLIP adapter and its base CLIP then encode each benchmark caption once between them.
        self.text_cache: dict[str, torch.Tensor] | None = None
        text_config = getattr(model.config, "text_config", None)
        max_positions = getattr(text_config, "max_position_embeddings", None) or 77
        self.max_text_length = min(
            int(getattr(tokenizer, "model_max_length", max_positions) or max_positions), int(max_positions)
        )

    # ------------------------------------------------------------------ helpers
    @property
    def has_video_features(self) -> bool:
        return callable(getattr(self.model, "get_video_features", None))

    @property
    def config(self):
        return self.model.config

    def _progress(self, total: int, desc: str):
        return tqdm(total=total, desc=desc, unit="item", disable=not self.show_progress, leave=False)

    def _process_image(self, image: Any) -> torch.Tensor:
        return self.image_processor(images=image, return_tensors="pt")["pixel_values"][0]

    def _process_frames(self, frames: Any) -> torch.Tensor:
        return self.image_processor(images=list(frames), return_tensors="pt")["pixel_values"]

    def _loader(self, keys: Sequence[Hashable], load: Callable, process: Callable, batch_size: int) -> DataLoader:
        return DataLoader(
            _LoadingDataset(keys, load, process),
            batch_size=batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=_collate,
        )

    def _handle_failure(self, key: Hashable, reason: str, failures: dict) -> None:
        if not self.skip_failures:
            from dataset_scripts.benchmarks.common import BenchmarkDataError

            raise BenchmarkDataError(f"{key}: could not be loaded ({reason}) (pass --skip_missing to skip such items)")
        failures[key] = reason

    # ------------------------------------------------------------------ texts
    def text_tower_fingerprint(self) -> str:
        """A digest of everything that decides a text embedding: the text transformer and projection weights
        (whatever wrapper holds them: CLIP, FiGCLIP, peft) and the tokenizer's vocabulary. Two encoders with the same
        fingerprint embed every text identically, so they may share `text_cache`."""
        import hashlib

        digest = hashlib.sha256()
        for name, tensor in sorted(self.model.state_dict().items()):
            for marker in ("text_model.", "text_projection."):
                if marker in name:  # names from the marker on: the same for CLIP, FiGCLIP and vision-only peft
                    digest.update(name[name.index(marker):].encode())
                    digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
                    break
        vocab = self.tokenizer.get_vocab() if hasattr(self.tokenizer, "get_vocab") else {}
        digest.update(repr(sorted(vocab.items())).encode())
        digest.update(str(self.max_text_length).encode())
        return digest.hexdigest()

    @torch.no_grad()
    def encode_texts(self, texts: Sequence[str], desc: str = "texts") -> EmbeddingTable:
        """Embed each unique string once (or take it from `text_cache`); `table.lookup(texts)` gives them back."""
        unique = list(dict.fromkeys(texts))
        cache = self.text_cache if self.text_cache is not None else {}
        missing = [text for text in unique if text not in cache]
        with self._progress(len(missing), f"encoding {desc}") as bar:
            for start in range(0, len(missing), self.batch_size):
                batch = missing[start : start + self.batch_size]
                tokens = self.tokenizer(
                    batch, padding=True, truncation=True, max_length=self.max_text_length, return_tensors="pt"
                ).to(self.device)
                features = self.model.get_text_features(
                    input_ids=tokens["input_ids"], attention_mask=tokens.get("attention_mask")
                )
                for text, row in zip(batch, l2_normalize(to_embedding_tensor(features).float()).cpu()):
                    cache[text] = row
                bar.update(len(batch))
        embeddings = torch.stack([cache[text] for text in unique]) if unique else torch.zeros(0, self._embed_dim())
        return EmbeddingTable(embeddings, {text: row for row, text in enumerate(unique)})

    def _embed_dim(self) -> int:
        return int(getattr(self.model.config, "projection_dim", 0) or 0)

    # ------------------------------------------------------------------ images
    @torch.no_grad()
    def encode_images(
        self, keys: Sequence[Hashable], load: Callable[[Hashable], Any], desc: str = "images"
    ) -> EmbeddingTable:
        """Embed each unique image key once; `load(key)` returns a PIL image (or array) for the image processor."""
        unique = list(dict.fromkeys(keys))
        chunks, rows, failures = [], {}, {}
        with self._progress(len(unique), f"encoding {desc}") as bar:
            for batch in self._loader(unique, load, self._process_image, self.batch_size):
                pixels, batch_keys = [], []
                for index, pixel_values, error in batch:
                    if error is not None:
                        self._handle_failure(unique[index], error, failures)
                    else:
                        pixels.append(pixel_values)
                        batch_keys.append(unique[index])
                if pixels:
                    values = torch.stack(pixels).to(self.device, self.dtype)
                    features = to_embedding_tensor(self.model.get_image_features(pixel_values=values))
                    chunks.append(l2_normalize(features.float()).cpu())
                    for key in batch_keys:
                        rows[key] = len(rows)
                bar.update(len(batch))
        embeddings = torch.cat(chunks) if chunks else torch.zeros(0, self._embed_dim())
        return EmbeddingTable(embeddings, rows, failures)

    # ------------------------------------------------------------------ videos
    @torch.no_grad()
    def video_features(
        self,
        pixel_values_videos: torch.Tensor,
        frame_mask: torch.Tensor | None = None,
        use_contextualizer: bool = False,
    ) -> VideoFeatures:
        """Embeddings of `(batch, events, frames, 3, H, W)` pixels at every level (float32, CPU).

        Uses `model.get_video_features` when available; otherwise (plain CLIP) encodes the present frames with
        `get_image_features` and takes re-normalised means, which is exactly FiGCLIP's CLIP-level definition.
        """
        pixel_values_videos = pixel_values_videos.to(self.device, self.dtype)
        if frame_mask is not None:
            frame_mask = frame_mask.to(self.device)
        if self.has_video_features:
            output = self.model.get_video_features(
                pixel_values_videos, frame_mask=frame_mask, use_contextualizer=use_contextualizer
            )
            clip_events, clip_videos = output.clip_event_embeds.float().cpu(), output.clip_video_embeds.float().cpu()
            events, videos = clip_events, clip_videos
            if use_contextualizer:
                if output.vc_video_embeds is None:
                    raise ValueError(
                        "--use_contextualizer: this model has no Video Contextualizer "
                        "(config.use_contextualizer is False)."
                    )
                events, videos = output.vc_event_embeds.float().cpu(), output.vc_video_embeds.float().cpu()
            return VideoFeatures(output.frame_embeds.float().cpu(), events, videos, clip_events, clip_videos)
        if use_contextualizer:
            raise ValueError(
                f"--use_contextualizer needs a FigClipModel; {type(self.model).__name__} has no Video Contextualizer."
            )
        batch, events, frames = pixel_values_videos.shape[:3]
        if frame_mask is None:
            frame_mask = torch.ones(batch, events, frames, dtype=torch.bool, device=self.device)
        frame_mask = frame_mask.bool()
        present = l2_normalize(
            to_embedding_tensor(self.model.get_image_features(pixel_values=pixel_values_videos[frame_mask])).float()
        )
        frame_embeds = present.new_zeros(batch, events, frames, present.shape[-1])
        frame_embeds[frame_mask] = present
        weights = frame_mask.unsqueeze(-1).to(frame_embeds.dtype)
        event_embeds = l2_normalize((frame_embeds * weights).sum(dim=2)).cpu()
        video_embeds = l2_normalize((frame_embeds * weights).sum(dim=(1, 2))).cpu()
        return VideoFeatures(frame_embeds.cpu(), event_embeds, video_embeds, event_embeds, video_embeds)

    def _event_layout(self, num_frames: int, use_contextualizer: bool, events: int | None) -> list[list[int]]:
        if use_contextualizer and not self.has_video_features:
            raise ValueError(
                f"--use_contextualizer needs a FigClipModel; {type(self.model).__name__} has no Video Contextualizer."
            )
        if events is not None:  # the caller's frames already come as `events` equal groups (e.g. VidSitu 5 x 4)
            if num_frames % events:
                raise ValueError(f"{num_frames} frames cannot be split into {events} equal events.")
            per_event = num_frames // events
            return [list(range(e * per_event, (e + 1) * per_event)) for e in range(events)]
        if not use_contextualizer:
            return [list(range(num_frames))]
        return group_frames_into_events(num_frames, int(self.config.max_events), int(self.config.max_frames_per_event))

    @torch.no_grad()
    def encode_videos(
        self,
        keys: Sequence[Hashable],
        load: Callable[[Hashable], Any],
        num_frames: int,
        use_contextualizer: bool = False,
        events: int | None = None,
        desc: str = "videos",
    ) -> VideoEmbeddings:
        """Embed each unique video key once.

        Args:
            keys: video keys (paths, clip ids); duplicates are encoded once.
            load: `load(key)` -> `(num_frames, H, W, 3)` uint8 frames (or a list of PIL images).
            num_frames: frames `load` returns per video.
            use_contextualizer: return VC-level event/video embeddings (FigClipModel only); the frames are grouped
                into at most `max_events` events of at most `max_frames_per_event` frames.
            events: the frames form this many equal consecutive events (VidSitu: 5 events x 4 frames). Default: one
                event holding every frame (or the contextualiser grouping).
        """
        unique = list(dict.fromkeys(keys))
        layout = self._event_layout(num_frames, use_contextualizer, events)
        clip_batch = max(1, self.batch_size // max(1, num_frames))
        chunks: list[VideoFeatures] = []
        masks: list[torch.Tensor] = []
        rows, failures = {}, {}
        with self._progress(len(unique), f"encoding {desc}") as bar:
            for batch in self._loader(unique, load, self._process_frames, clip_batch):
                clips, batch_keys = self._keep_decoded(batch, unique, num_frames, failures)
                if clips:
                    grid, mask = _events_grid(torch.stack(clips), layout)
                    chunks.append(self.video_features(grid, None if bool(mask.all()) else mask, use_contextualizer))
                    masks.append(mask)
                    for key in batch_keys:
                        rows[key] = len(rows)
                bar.update(len(batch))
        if not chunks:
            return self._no_video_embeddings(layout, rows, failures, use_contextualizer)

        def cat(name: str) -> torch.Tensor:
            return torch.cat([getattr(chunk, name) for chunk in chunks])

        return VideoEmbeddings(
            cat("frames"),
            cat("events"),
            cat("videos"),
            cat("clip_events"),
            cat("clip_videos"),
            torch.cat(masks),
            rows,
            failures,
            use_contextualizer,
        )

    def _keep_decoded(
        self, batch, unique: list[Hashable], num_frames: int, failures: dict
    ) -> tuple[list[torch.Tensor], list[Hashable]]:
        """The clips of a loader batch that decoded to `num_frames` frames, with their keys; each other clip is a
        failure (`_handle_failure`: raised, or recorded in `failures`)."""
        clips, batch_keys = [], []
        for index, pixel_values, error in batch:
            if error is None and pixel_values.shape[0] != num_frames:
                error = f"expected {num_frames} frames, got {pixel_values.shape[0]}"
            if error is not None:
                self._handle_failure(unique[index], error, failures)
            else:
                clips.append(pixel_values)
                batch_keys.append(unique[index])
        return clips, batch_keys

    def _no_video_embeddings(self, layout, rows, failures, use_contextualizer: bool) -> VideoEmbeddings:
        """Empty embeddings of the right shapes, for a run in which no video decoded."""
        num_events, per_event, dim = len(layout), max(len(group) for group in layout), self._embed_dim()
        empty_events, empty_videos = torch.zeros(0, num_events, dim), torch.zeros(0, dim)
        return VideoEmbeddings(
            torch.zeros(0, num_events, per_event, dim),
            empty_events,
            empty_videos,
            empty_events,
            empty_videos,
            torch.zeros(0, num_events, per_event, dtype=torch.bool),
            rows,
            failures,
            use_contextualizer,
        )


def _events_grid(clips: torch.Tensor, layout: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """`(B, F, 3, H, W)` clips -> `(B, events, frames_per_event, 3, H, W)` grid and its `(B, events, frames)` mask,
    event `e` holding the frames `layout[e]` (shorter events padded with zeros, masked out)."""
    num_events, per_event = len(layout), max(len(group) for group in layout)
    grid = clips.new_zeros(clips.shape[0], num_events, per_event, *clips.shape[2:])
    mask = torch.zeros(clips.shape[0], num_events, per_event, dtype=torch.bool)
    for event, group in enumerate(layout):
        grid[:, event, : len(group)] = clips[:, group]
        mask[:, event, : len(group)] = True
    return grid, mask
