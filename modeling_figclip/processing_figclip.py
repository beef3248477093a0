"""`FigClipProcessor`: CLIP's image processor and tokenizer, applied to clips of events of frames and their prompts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from transformers import BatchFeature, ProcessorMixin

from .tokenization_utils import check_tokenizer

Frame = Any  # PIL.Image, (H, W, C) / (C, H, W) array or tensor


def _is_frame(value: Any) -> bool:
    if isinstance(value, Image.Image):
        return True
    return isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim == 3


def _clip_events(clip: Any, where: str) -> list[list[Frame]]:
    """One clip as `[event][frame]`: from nested lists of frames or a 5-D `(events, frames, …)` array/tensor."""
    if isinstance(clip, (np.ndarray, torch.Tensor)):
        if clip.ndim != 5:
            raise ValueError(
                f"{where} must be shaped (events, frames, H, W, C) or (events, frames, C, H, W), got {tuple(clip.shape)}."
            )
        return [[clip[e, f] for f in range(clip.shape[1])] for e in range(clip.shape[0])]
    if isinstance(clip, Sequence) and not isinstance(clip, str) and len(clip) > 0:
        events = []
        for event_index, event in enumerate(clip):
            if _is_frame(event):
                raise ValueError(f"{where} must be a list of events, each a list of frames; event {event_index} is a single frame.")
            if isinstance(event, (np.ndarray, torch.Tensor)) and event.ndim == 4:
                frames = [event[f] for f in range(event.shape[0])]
            elif isinstance(event, Sequence) and len(event) > 0 and all(_is_frame(f) for f in event):
                frames = list(event)
            else:
                raise ValueError(
                    f"{where}, event {event_index}: expected a non-empty list of frames (PIL images or 3-D arrays/tensors) "
                    f"or a 4-D array, got {type(event).__name__}."
                )
            events.append(frames)
        return events
    raise ValueError(f"{where} must be a non-empty list of events or a 5-D array, got {type(clip).__name__}.")


def _batch_of_clips(videos: Any) -> list[list[list[Frame]]]:
    """Normalise `videos` (one clip or a batch of clips) to `[clip][event][frame]`."""
    if isinstance(videos, (np.ndarray, torch.Tensor)):
        if videos.ndim == 6:
            return [_clip_events(videos[b], f"videos[{b}]") for b in range(videos.shape[0])]
        if videos.ndim == 5:
            return [_clip_events(videos, "videos")]
        raise ValueError(f"videos must be 5-D (one clip) or 6-D (a batch), got shape {tuple(videos.shape)}.")
    if not isinstance(videos, Sequence) or len(videos) == 0:
        raise ValueError(f"videos must be a non-empty clip or list of clips, got {type(videos).__name__}.")
    first = videos[0]
    is_single_clip = (isinstance(first, (np.ndarray, torch.Tensor)) and first.ndim == 4) or (
        isinstance(first, Sequence) and len(first) > 0 and _is_frame(first[0])
    )
    if is_single_clip:
        return [_clip_events(videos, "videos")]
    return [_clip_events(clip, f"videos[{b}]") for b, clip in enumerate(videos)]


def _batch_of_prompts(text: Any, name: str) -> list[list[Any]]:
    """`[clip][event]` prompts from one clip's list or a batch's list of lists."""
    if isinstance(text, str) or not isinstance(text, Sequence) or len(text) == 0:
        raise ValueError(f"{name} must be a list of event prompts (one clip) or a list of such lists, got {text!r:.80}.")
    if all(isinstance(t, str) for t in text):
        return [list(text)]
    return [list(clip) for clip in text]


def pad_negative_texts(
    negatives: Sequence[Sequence[Sequence[str]]], num_negatives: int | None = None, num_events: int | None = None
) -> tuple[list[str], torch.Tensor]:
    """The one place negatives are padded: `[clip][event][k]` strings → a flat list of ``clips × events × N`` strings
    (``""`` in padding slots) and the validity mask `(clips, events, N)`.

    Args:
        negatives: per clip, per event, its hard-negative prompts (events may have fewer than N, or none).
        num_negatives: N; default the most any event has. A fixed N keeps shapes equal across processes (the loss
            gathers them); events with more are cut to N.
        num_events: events per clip; default the most any clip has.
    """
    num_events = num_events if num_events is not None else max((len(clip) for clip in negatives), default=0)
    if num_negatives is None:
        num_negatives = max((len(event) for clip in negatives for event in clip), default=0)
    flat: list[str] = []
    valid = torch.zeros(len(negatives), num_events, num_negatives, dtype=torch.bool)
    for b, clip in enumerate(negatives):
        if len(clip) > num_events:
            raise ValueError(f"negative_text[{b}] has negatives for {len(clip)} events but the clips have {num_events}.")
        for e in range(num_events):
            kept = list(clip[e])[:num_negatives] if e < len(clip) else []
            valid[b, e, : len(kept)] = True
            flat.extend(kept + [""] * (num_negatives - len(kept)))
    return flat, valid


class FigClipProcessor(ProcessorMixin):
    """Turn clips (events × frames) and event prompts into `FigClipModel` inputs.

    Args:
        image_processor: a `CLIPImageProcessor` (resizing, cropping, normalisation of every frame).
        tokenizer: a CLIP tokenizer (checked to be non-empty; see `check_tokenizer`).

    Call with `videos` (one clip or a batch: PIL images, uint8 `(H, W, C)` arrays or tensors, nested `[event][frame]`
    or as 5-D/6-D arrays), `text` (per clip, one prompt per event), and optionally `negative_text` (per clip, per
    event, a list of hard-negative prompts) with `num_negatives` (pad every event to N; default the most any event
    has). Clips with fewer events/frames are padded and masked; events with fewer negatives are padded and masked
    (`pad_negative_texts`, used by the training text cache as well). Plain `images=`/`text=` calls behave like
    `CLIPProcessor`.
    """

    def __init__(self, image_processor=None, tokenizer=None, **kwargs):
        if tokenizer is not None:
            check_tokenizer(tokenizer)
        super().__init__(image_processor, tokenizer)

    def __call__(
        self,
        videos: Any = None,
        text: Any = None,
        negative_text: Any = None,
        images: Any = None,
        return_tensors: str = "pt",
        max_length: int | None = None,
        num_negatives: int | None = None,
        **kwargs,
    ) -> BatchFeature:
        if videos is None and negative_text is None:
            return self._clip_call(images=images, text=text, return_tensors=return_tensors, max_length=max_length, **kwargs)
        if images is not None:
            raise ValueError("Pass either videos (clips of events × frames) or images, not both.")
        features: dict[str, torch.Tensor] = {}
        num_clips = num_events = None
        if videos is not None:
            clips = _batch_of_clips(videos)
            features.update(self._process_videos(clips, **kwargs))
            num_clips, num_events = features["event_mask"].shape
        if text is not None:
            prompts = _batch_of_prompts(text, "text")
            if num_clips is not None:
                self._check_prompt_counts(prompts, features["event_mask"], "text")
            ids, mask, _ = self._tokenize_nested(prompts, num_events, max_length)
            features.update(input_ids=ids, attention_mask=mask)
            if num_clips is None:
                features["event_mask"] = torch.tensor(
                    [[e < len(p) for e in range(ids.shape[1])] for p in prompts], dtype=torch.bool
                )
        if negative_text is not None:
            negatives = [[list(event) for event in clip] for clip in _batch_of_prompts(negative_text, "negative_text")]
            events = features["event_mask"].shape[1] if "event_mask" in features else None
            ids, mask, valid = self._tokenize_nested_negatives(negatives, events, max_length, num_negatives)
            features.update(negative_input_ids=ids, negative_attention_mask=mask, negative_mask=valid)
        return BatchFeature(features, tensor_type=None)

    # -------------------------------------------------------------- helpers
    def _clip_call(self, images, text, return_tensors, max_length, **kwargs) -> BatchFeature:
        """CLIPProcessor behaviour for plain image/text inputs."""
        encoding: dict[str, Any] = {}
        if text is not None:
            encoding.update(self.tokenizer(text, padding=True, truncation=True, max_length=max_length, return_tensors=return_tensors))
        if images is not None:
            encoding.update(self.image_processor(images, return_tensors=return_tensors, **kwargs))
        if not encoding:
            raise ValueError("Pass at least one of videos, images or text.")
        return BatchFeature(encoding, tensor_type=return_tensors)

    def _process_videos(self, clips: list[list[list[Frame]]], **image_kwargs) -> dict[str, torch.Tensor]:
        num_events = max(len(clip) for clip in clips)
        num_frames = max(len(event) for clip in clips for event in clip)
        flat = [_to_pil_or_array(frame) for clip in clips for event in clip for frame in event]
        pixels = self.image_processor(flat, return_tensors="pt", **image_kwargs)["pixel_values"]
        out = pixels.new_zeros((len(clips), num_events, num_frames, *pixels.shape[1:]))
        event_mask = torch.zeros(len(clips), num_events, dtype=torch.bool)
        frame_mask = torch.zeros(len(clips), num_events, num_frames, dtype=torch.bool)
        cursor = 0
        for b, clip in enumerate(clips):
            for e, event in enumerate(clip):
                event_mask[b, e] = True
                frame_mask[b, e, : len(event)] = True
                out[b, e, : len(event)] = pixels[cursor : cursor + len(event)]
                cursor += len(event)
        features = {"pixel_values_videos": out, "event_mask": event_mask}
        if not bool(frame_mask[event_mask].all()):
            features["frame_mask"] = frame_mask
        return features

    @staticmethod
    def _check_prompt_counts(prompts: list[list[str]], event_mask: torch.Tensor, name: str) -> None:
        if len(prompts) != event_mask.shape[0]:
            raise ValueError(f"{name} has prompts for {len(prompts)} clips but videos has {event_mask.shape[0]} clips.")
        for b, clip_prompts in enumerate(prompts):
            expected = int(event_mask[b].sum())
            if len(clip_prompts) != expected:
                raise ValueError(f"{name}[{b}] has {len(clip_prompts)} prompts but clip {b} has {expected} events.")

    def _tokenize(self, texts: list[str], max_length: int | None):
        max_length = max_length or min(self.tokenizer.model_max_length, 77)
        return self.tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")

    def _tokenize_nested(self, prompts: list[list[str]], num_events: int | None, max_length: int | None):
        num_events = num_events or max(len(p) for p in prompts)
        flat = [t for clip in prompts for t in clip]
        encoded = self._tokenize(flat, max_length)
        seq = encoded["input_ids"].shape[1]
        pad_id = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(prompts), num_events, seq), pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), num_events, seq), dtype=torch.long)
        cursor = 0
        for b, clip in enumerate(prompts):
            ids[b, : len(clip)] = encoded["input_ids"][cursor : cursor + len(clip)]
            mask[b, : len(clip)] = encoded["attention_mask"][cursor : cursor + len(clip)]
            cursor += len(clip)
        return ids, mask, None

    def _tokenize_nested_negatives(
        self, negatives: list[list[list[str]]], num_events: int | None, max_length: int | None, num_negatives: int | None
    ):
        flat, valid = pad_negative_texts(negatives, num_negatives, num_events)
        batch, events, count = valid.shape
        if not flat:
            shape = (batch, events, count, 1)
            return torch.zeros(shape, dtype=torch.long), torch.zeros(shape, dtype=torch.long), valid
        encoded = self._tokenize(flat, max_length)
        seq = encoded["input_ids"].shape[1]
        ids = encoded["input_ids"].view(batch, events, count, seq)
        mask = encoded["attention_mask"].view(batch, events, count, seq) * valid.unsqueeze(-1)
        return ids, mask, valid


def _to_pil_or_array(frame: Frame) -> Frame:
    """CLIP's image processor takes PIL images and channel-last or channel-first arrays; tensors become arrays."""
    if isinstance(frame, torch.Tensor):
        frame = frame.detach().cpu().numpy()
    return frame
