"""FiGCLIP's hierarchical contrastive losses (paper §4–§5), with hard negatives and data-parallel gathering.

`FigClipLoss` holds the whole objective (which terms, their weights, duplicate masking, gathering); the model calls it
with its embeddings, like open_clip's `ClipLoss`. The functions below are its pieces.

All four terms are CLIP-style symmetric InfoNCE with CLIP's logit scale:

    L = L_clip_event + L_vc_event + λ (L_clip_video + L_vc_video)

Event level (`info_nce_with_hard_negatives`): each present event of the (global) batch is a row. The other events of
the same video are in the batch, so they are in-batch negatives automatically (the paper's "natural hard negatives").
The N verb-role-swapped prompts of an event are appended to *that event's* video→text row only, as extra terms in the
softmax denominator; they have no image, so they cannot enter the text→video direction.

Duplicates: VidSitu often annotates two events of a clip identically, and a text is never its own negative. Texts
carry integer keys (equal key = identical text); a column whose key equals the row's positive key is removed from
that row's denominator instead of being treated as a negative.

Retention terms (opt-in, not in the paper; `RetentionLossInputs`): with `config.distillation_weight` β > 0, a
distillation term keeps the adapted frame embeddings close to the frozen base model's (`distillation_loss`); with
`config.replay_loss_weight` γ > 0, CLIP's plain symmetric InfoNCE on a batch of generic image–caption pairs
(`info_nce_with_hard_negatives` without negatives). The total becomes `L + β L_distillation + γ L_replay`.

Data parallelism follows open_clip's `gather_with_grad`: every process gathers the whole global batch with
`torch.distributed.nn.functional.all_gather` (differentiable), computes the full global loss, and receives gradient
for its own shard from every process. After DDP averages gradients over P processes, they equal the single-process
gradients on the global batch, and the loss value equals the single-process loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import torch
import torch.distributed as dist
import torch.nn.functional as F

_HASH_MULTIPLIER = 1_000_003  # odd multiplier for a rolling hash; int64 overflow wraps deterministically


def text_identity_keys(
    input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, eos_token_id: int | None = None
) -> torch.Tensor:
    """The identity of each token sequence (last dim): an integer equal for two texts iff the text tower sees the same
    tokens (up to 64-bit hash collisions).

    Only the tokens the tower reads count: those the ``attention_mask`` keeps, and without a mask those up to and
    including the first ``eos_token_id`` (CLIP's causal text tower pools there, so later padding cannot change the
    embedding). The same text therefore has the same key however far it was padded, by whatever batch-mates, on
    whichever process; and a text cut by the tokenizer's truncation has the key of its truncated tokens. This is the
    one identity used everywhere (the model, the text-embedding cache, the processor's inputs).
    """
    ids = input_ids.long()
    if attention_mask is not None:
        seen = attention_mask.bool()
    elif eos_token_id is not None:
        # positions up to and including the first EOS: the cumulative count of EOS *before* a position is 0
        is_eos = (ids == eos_token_id).long()
        seen = (is_eos.cumsum(dim=-1) - is_eos) == 0
    else:
        seen = torch.ones_like(ids, dtype=torch.bool)
    keys = torch.zeros(ids.shape[:-1], dtype=torch.long, device=ids.device)
    for position in range(ids.shape[-1]):
        # A masked position leaves the key unchanged, so padding (left or right, any length) never enters it.
        keys = torch.where(seen[..., position], keys * _HASH_MULTIPLIER + ids[..., position] + 1, keys)
    return keys


def text_keys_from_embeddings(embeddings: torch.Tensor) -> torch.Tensor:
    """Integer key per embedding (last dim) from its exact bit pattern: equal iff the vectors are bit-identical.

    Used when precomputed (cached) text embeddings are passed without keys: a cache returns the very same tensor for
    the same string, so exact equality is the right notion of "same text" (no similarity threshold).
    """
    bits = embeddings.detach().float().contiguous().view(torch.int32).long()
    keys = torch.zeros(bits.shape[:-1], dtype=torch.long, device=bits.device)
    for position in range(bits.shape[-1]):
        keys = keys * _HASH_MULTIPLIER + bits[..., position]
    return keys


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def gather_batch(tensors: dict[str, torch.Tensor | None]) -> dict[str, torch.Tensor | None]:
    """Concatenate per-video tensors (first dim = local batch) from every process, in rank order.

    Local batch sizes may differ between processes (the last batch of an epoch): tensors are zero-padded to the
    largest size for the collective and trimmed afterwards. Tensors that require grad are gathered with the
    differentiable all-gather; bool tensors travel as uint8 (gloo has no bool all-gather).
    """
    world_size, _ = _world()
    if world_size == 1:
        return tensors
    reference = next(t for t in tensors.values() if t is not None)
    local_size = torch.tensor([reference.shape[0]], device=reference.device, dtype=torch.long)
    sizes = [torch.zeros_like(local_size) for _ in range(world_size)]
    dist.all_gather(sizes, local_size)
    sizes_list = [int(s.item()) for s in sizes]
    max_size = max(sizes_list)

    gathered: dict[str, torch.Tensor | None] = {}
    for name, tensor in tensors.items():
        if tensor is None:
            gathered[name] = None
            continue
        is_bool = tensor.dtype == torch.bool
        payload = tensor.to(torch.uint8) if is_bool else tensor
        if payload.shape[0] < max_size:
            pad = payload.new_zeros((max_size - payload.shape[0], *payload.shape[1:]))
            payload = torch.cat([payload, pad], dim=0)
        if payload.requires_grad:
            parts = torch.distributed.nn.functional.all_gather(payload.contiguous())
        else:
            parts = [torch.empty_like(payload) for _ in range(world_size)]
            dist.all_gather(parts, payload.contiguous())
        merged = torch.cat([part[:size] for part, size in zip(parts, sizes_list)], dim=0)
        gathered[name] = merged.bool() if is_bool else merged
    return gathered


def info_nce_with_hard_negatives(
    visual_embeds: torch.Tensor,
    text_embeds: torch.Tensor,
    logit_scale: torch.Tensor,
    text_keys: torch.Tensor | None = None,
    negative_embeds: torch.Tensor | None = None,
    negative_valid: torch.Tensor | None = None,
    negative_keys: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Symmetric InfoNCE between M visual and M text embeddings (pairs on the diagonal) with per-row hard negatives.

    Args:
        visual_embeds: `(M, D)` L2-normalised.
        text_embeds: `(M, D)` L2-normalised; row i is the positive of visual row i.
        logit_scale: scalar multiplier (already exponentiated).
        text_keys: `(M,)` integer text identities; columns j != i with `text_keys[j] == text_keys[i]` are dropped
            from row i (in both directions). None: every off-diagonal column is a negative.
        negative_embeds: `(M, N, D)` L2-normalised hard negatives of each row, appended to the visual→text row only.
        negative_valid: `(M, N)` bool, False for padding negatives.
        negative_keys: `(M, N)` integer identities; a negative whose key equals the row's positive key is dropped.

    Returns:
        `(loss, logits (M, M) visual→text, negative_logits (M, N) or None)`; masked entries are `-inf`.
    """
    logits = logit_scale * visual_embeds @ text_embeds.t()
    num_rows = logits.shape[0]
    eye = torch.eye(num_rows, dtype=torch.bool, device=logits.device)
    if text_keys is not None:
        same_text = (text_keys[:, None] == text_keys[None, :]) & ~eye
        logits = logits.masked_fill(same_text, float("-inf"))

    negative_logits = None
    row_logits = logits
    if negative_embeds is not None and negative_embeds.shape[1] > 0:
        negative_logits = logit_scale * torch.einsum("md,mnd->mn", visual_embeds, negative_embeds)
        drop = torch.zeros_like(negative_logits, dtype=torch.bool)
        if negative_valid is not None:
            drop |= ~negative_valid
        if negative_keys is not None and text_keys is not None:
            drop |= negative_keys == text_keys[:, None]
        negative_logits = negative_logits.masked_fill(drop, float("-inf"))
        row_logits = torch.cat([logits, negative_logits], dim=1)

    targets = torch.arange(num_rows, device=logits.device)
    loss_visual_to_text = F.cross_entropy(row_logits.float(), targets)
    loss_text_to_visual = F.cross_entropy(logits.t().float(), targets)
    return (loss_visual_to_text + loss_text_to_visual) / 2, logits, negative_logits


def video_text_embeddings(text_event_embeds: torch.Tensor, event_mask: torch.Tensor) -> torch.Tensor:
    """Video-level text embedding: the normalised mean of the present events' (normalised) prompt embeddings."""
    weights = event_mask.to(text_event_embeds.dtype).unsqueeze(-1)
    summed = (text_event_embeds * weights).sum(dim=1)
    return F.normalize(summed, dim=-1)


def video_keys_from_event_keys(event_keys: torch.Tensor, event_mask: torch.Tensor) -> torch.Tensor:
    """Key of a video's text: a hash of its present events' text keys in order."""
    keys = torch.zeros(event_keys.shape[0], dtype=torch.long, device=event_keys.device)
    masked = torch.where(event_mask, event_keys, torch.full_like(event_keys, -1))
    for position in range(event_keys.shape[1]):
        keys = keys * _HASH_MULTIPLIER + masked[:, position]
    return keys


def distillation_loss(
    frames: torch.Tensor,
    base_frames: torch.Tensor,
    target: str = "features",
    generic_text: torch.Tensor | None = None,
    logit_scale: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean over frames of how far the adapted embeddings are from the frozen base's (`FigClipConfig.distillation_target`).

    Args:
        frames: `(N, D)` L2-normalised adapted frame embeddings.
        base_frames: `(N, D)` the base model's embeddings of the same frames (no gradient).
        target: `"features"`: `½‖f − f_base‖²` (= 1 − cos); `"similarities"`: `KL(p_base ‖ p)` of the image→text
            distributions over `generic_text` at temperature `logit_scale`.
        generic_text: `(K, D)` L2-normalised generic caption embeddings (similarities only).
        logit_scale: scalar multiplier (already exponentiated; similarities only).

    Both are exactly 0 when the adapter has not moved (LoRA's B = 0 at initialisation makes `frames == base_frames`).
    """
    base_frames = base_frames.detach().to(frames.dtype)
    if target == "features":
        return 0.5 * (frames - base_frames).float().pow(2).sum(dim=-1).mean()
    if target == "similarities":
        if generic_text is None or logit_scale is None:
            raise ValueError("distillation_target='similarities' needs generic caption embeddings and the logit scale.")
        text = generic_text.to(frames.dtype).t()
        log_p = F.log_softmax((logit_scale * frames @ text).float(), dim=-1)
        log_p_base = F.log_softmax((logit_scale * base_frames @ text).float(), dim=-1)
        return F.kl_div(log_p, log_p_base, log_target=True, reduction="batchmean")
    raise ValueError(f"Unknown distillation target {target!r}; expected 'features' or 'similarities'.")


@dataclass
class RetentionLossInputs:
    """Inputs of the retention terms (opt-in; see the module docstring). L2-normalised embeddings.

    Attributes:
        frames: `(N, D)` adapted embeddings of this process's present training frames (distillation).
        base_frames: `(N, D)` the frozen base model's embeddings of the same frames (distillation).
        generic_text: `(K, D)` generic caption embeddings, the same on every process (similarity distillation).
        replay_image: `(R, D)` adapted embeddings of this process's generic replay images.
        replay_text: `(R, D)` embeddings of their captions.
        replay_keys: `(R,)` caption identities (`text_identity_keys`), or None.
    """

    frames: torch.Tensor | None = None
    base_frames: torch.Tensor | None = None
    generic_text: torch.Tensor | None = None
    replay_image: torch.Tensor | None = None
    replay_text: torch.Tensor | None = None
    replay_keys: torch.Tensor | None = None

    @property
    def has_distillation(self) -> bool:
        return self.frames is not None and self.base_frames is not None

    @property
    def has_replay(self) -> bool:
        return self.replay_image is not None and self.replay_text is not None


@dataclass
class FigClipLossInputs:
    """What the objective needs from one process's batch (first dim = local videos). Embeddings are L2-normalised.

    Attributes:
        event_mask: `(batch, events)` bool, present events.
        clip_event, vc_event: `(batch, events, dim)` CLIP-level / contextualised event embeddings (VC: None without
            a contextualiser).
        clip_video, vc_video: `(batch, dim)` video embeddings.
        text_event: `(batch, events, dim)` prompt embeddings.
        event_keys: `(batch, events)` text identities (`text_identity_keys`), or None.
        negatives: `(batch, events, N, dim)` hard-negative embeddings, or None.
        negative_valid: `(batch, events, N)` bool, or None.
        negative_keys: `(batch, events, N)` identities, or None.
    """

    event_mask: torch.Tensor
    clip_event: torch.Tensor
    clip_video: torch.Tensor
    vc_event: torch.Tensor | None
    vc_video: torch.Tensor | None
    text_event: torch.Tensor
    event_keys: torch.Tensor | None = None
    negatives: torch.Tensor | None = None
    negative_valid: torch.Tensor | None = None
    negative_keys: torch.Tensor | None = None

    def as_dict(self) -> dict[str, torch.Tensor | None]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass
class FigClipLossResult:
    """The total loss and, by `FigClipOutput` field name, each term and its logits (`loss_clip_event`,
    `logits_clip_event`, `negative_logits_clip_event`, …)."""

    loss: torch.Tensor
    terms: dict[str, torch.Tensor | None] = field(default_factory=dict)


class FigClipLoss:
    """The paper's objective: `L = L_clip_event + L_vc_event + λ (L_clip_video + L_vc_video)` over the enabled terms.

    - Event level: symmetric InfoNCE over the present events of the (global) batch, each row's hard negatives in its
      video→text denominator (`info_nce_with_hard_negatives`).
    - Video level: the same over videos that have a present event, against the normalised mean of their prompt
      embeddings (`video_text_embeddings`).
    - With `config.mask_duplicate_texts`, a text identical to a row's positive is no negative of it.
    - With `config.gather_across_processes`, every process computes the global-batch loss (`gather_batch`).

    Args:
        config: a `FigClipConfig`; read at every call (terms, `video_loss_weight`, masking, gathering).
    """

    EVENT_TERMS = ("clip_event", "vc_event")
    VIDEO_TERMS = ("clip_video", "vc_video")

    def __init__(self, config):
        self.config = config

    def __call__(
        self, inputs: FigClipLossInputs, logit_scale: torch.Tensor, retention: RetentionLossInputs | None = None
    ) -> FigClipLossResult:
        """The paper's terms on `inputs`, plus the retention terms whose inputs `retention` holds (each weighted by
        its config weight: `distillation_weight`, `replay_loss_weight`)."""
        result = self._paper_objective(inputs, logit_scale)
        if retention is not None:
            self._add_retention_terms(result, retention, logit_scale)
        return result

    def _add_retention_terms(self, result: FigClipLossResult, retention: RetentionLossInputs, logit_scale) -> None:
        """Distillation and replay, over the global batch when gathering (each has its own first dimension)."""
        config = self.config
        gather = gather_batch if config.gather_across_processes else (lambda tensors: tensors)
        if retention.has_distillation:
            frames = gather({"frames": retention.frames, "base": retention.base_frames})
            loss = distillation_loss(frames["frames"], frames["base"], config.distillation_target,
                                     retention.generic_text, logit_scale)
            result.terms["loss_distillation"] = loss
            result.loss = result.loss + config.distillation_weight * loss
        if retention.has_replay:
            pairs = gather({"image": retention.replay_image, "text": retention.replay_text,
                            "keys": retention.replay_keys if config.mask_duplicate_texts else None})
            loss, logits, _ = info_nce_with_hard_negatives(pairs["image"], pairs["text"], logit_scale, pairs["keys"])
            result.terms.update(loss_replay=loss, logits_replay=logits)
            result.loss = result.loss + config.replay_loss_weight * loss

    def _paper_objective(self, inputs: FigClipLossInputs, logit_scale: torch.Tensor) -> FigClipLossResult:
        config = self.config
        enabled = {name: on and getattr(inputs, name) is not None for name, on in config.enabled_losses.items()}
        batch = inputs.as_dict()
        if config.gather_across_processes:
            batch = gather_batch(batch)
        present = batch["event_mask"]
        if not bool(present.any()):
            raise ValueError(
                "No video of the batch has a present event (event_mask is all False): there is nothing to compute a "
                "loss on. Leave such batches out (the trainer does, in lenient mode)."
            )
        videos = present.any(dim=-1)  # videos without any present event enter no loss

        def rows(name):
            tensor = batch[name]
            return None if tensor is None else tensor[present]

        text_rows, negatives, negative_valid = rows("text_event"), rows("negatives"), rows("negative_valid")
        video_text = video_text_embeddings(batch["text_event"], present)[videos]
        key_rows = negative_key_rows = video_keys = None  # without keys every other text is a negative
        if config.mask_duplicate_texts and batch["event_keys"] is not None:
            key_rows, negative_key_rows = rows("event_keys"), rows("negative_keys")
            video_keys = video_keys_from_event_keys(batch["event_keys"], present)[videos]

        result = FigClipLossResult(loss=torch.zeros((), device=present.device))
        losses: dict[str, torch.Tensor] = {}
        for name in self.EVENT_TERMS:
            if enabled[name]:
                loss, logits, negative_logits = info_nce_with_hard_negatives(
                    rows(name), text_rows, logit_scale, key_rows, negatives, negative_valid, negative_key_rows
                )
                losses[name] = loss
                result.terms.update({f"loss_{name}": loss, f"logits_{name}": logits, f"negative_logits_{name}": negative_logits})
        for name in self.VIDEO_TERMS:
            if enabled[name]:
                loss, logits, _ = info_nce_with_hard_negatives(batch[name][videos], video_text, logit_scale, video_keys)
                losses[name] = loss
                result.terms.update({f"loss_{name}": loss, f"logits_{name}": logits})
        event_total = sum(losses[name] for name in self.EVENT_TERMS if name in losses)
        video_total = sum(losses[name] for name in self.VIDEO_TERMS if name in losses)
        result.loss = event_total + config.video_loss_weight * video_total
        return result
