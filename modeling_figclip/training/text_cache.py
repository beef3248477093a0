"""Text-embedding cache for the frozen text encoder, and the batch text inputs built from it.

FiGCLIP keeps CLIP's text tower frozen, so an event prompt or hard negative always has the same embedding. Each
process computes the embeddings of the strings it meets (batched, in eval mode, without gradients) once and reuses
them every epoch; strings new in an epoch (fresh hard negatives) are embedded on demand. Processes never exchange
embeddings: the computation is deterministic and independent of which strings share a batch (every text-tower call has
the same shape, `batch_size` strings of `max_length` tokens), so the same string gets the same embedding on every
process and after a resume ("recomputed identically"). Each string's identity key is `text_identity_keys` of the
tokens the tower sees — the same function the model uses — which the loss uses to recognise duplicate texts across the
gathered global batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..loss_figclip import text_identity_keys
from ..processing_figclip import pad_negative_texts
from ..utils import to_embedding_tensor


class TextEmbeddingCache:
    """Normalised text embeddings by exact string.

    Args:
        tokenizer: the model's CLIP tokenizer.
        batch_size: rows of every text-encoder call when filling the cache (a short last chunk is padded with
            empty strings, so the shape never changes).
        max_length: token truncation (CLIP: 77).
    """

    def __init__(self, tokenizer, batch_size: int = 256, max_length: int = 77) -> None:
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length = min(max_length, tokenizer.model_max_length)
        self._embeddings: dict[str, torch.Tensor] = {}
        self._keys: dict[str, int] = {}
        #: strings asked for that were / were not cached yet (`fill`); the trainer logs the hit rate per epoch
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._embeddings)

    def __contains__(self, text: str) -> bool:
        return text in self._embeddings

    @torch.no_grad()
    def fill(self, model, texts: Sequence[str], count: bool = True) -> None:
        """Encode the strings of `texts` that are not cached yet (the text tower must be frozen). With ``count``,
        the strings asked for are counted as hits (cached) or misses (new)."""
        missing = sorted({t for t in texts if t not in self._embeddings})
        if count:
            self.hits += len(texts) - len(missing)
            self.misses += len(missing)
        if not missing:
            return
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        try:
            for start in range(0, len(missing), self.batch_size):
                chunk = missing[start : start + self.batch_size]
                # One shape for every call: pad to the fixed length, not the batch's longest, and fill a short last
                # chunk up to `batch_size` with empty strings. Measured: both the padded length and the number of
                # rows change a string's embedding in the last bits (BLAS picks other kernels), which would break
                # bit-exact resumption and multi-process equality (the cache is filled in other chunks there).
                rows = chunk + [""] * (self.batch_size - len(chunk))
                encoded = self.tokenizer(
                    rows, padding="max_length", truncation=True, max_length=self.max_length, return_tensors="pt"
                )
                features = model.get_text_features(
                    input_ids=encoded["input_ids"].to(device), attention_mask=encoded["attention_mask"].to(device)
                )
                embeddings = F.normalize(to_embedding_tensor(features).float(), dim=-1).cpu()
                keys = text_identity_keys(encoded["input_ids"], encoded["attention_mask"]).tolist()
                self._embeddings.update(zip(chunk, embeddings[: len(chunk)]))
                self._keys.update(zip(chunk, keys[: len(chunk)]))
        finally:
            model.train(was_training)

    def lookup(self, texts: Sequence[str]) -> torch.Tensor:
        """Stacked embeddings `(len(texts), dim)` of cached strings."""
        return torch.stack([self._embeddings[t] for t in texts])

    def keys(self, texts: Sequence[str]) -> torch.Tensor:
        """Identity keys `(len(texts),)` of cached strings (`text_identity_keys` of the tokens the tower saw)."""
        return torch.tensor([self._keys[t] for t in texts], dtype=torch.long)


def cached_text_inputs(
    cache: TextEmbeddingCache,
    model,
    prompts: list[list[str]],
    negatives: list[list[list[str]]] | None,
    num_negatives: int,
) -> dict[str, torch.Tensor]:
    """`FigClipModel.forward` text inputs from the cache: `text_embeds`, `text_keys` and, with negatives,
    `negative_text_embeds`, `negative_text_keys`, `negative_mask`."""
    batch, events = len(prompts), len(prompts[0])
    flat_prompts = [p for video in prompts for p in video]
    to_fill = list(flat_prompts)
    flat_negatives, valid = None, None
    if negatives is not None and num_negatives > 0:
        flat_negatives, valid = pad_negative_texts(negatives, num_negatives, events)
        to_fill += [t for t in flat_negatives if t]
    cache.fill(model, to_fill)
    dim = cache.lookup(flat_prompts[:1]).shape[-1]
    inputs = {
        "text_embeds": cache.lookup(flat_prompts).view(batch, events, dim),
        "text_keys": cache.keys(flat_prompts).view(batch, events),
    }
    if flat_negatives is not None:
        # Padding slots (masked by negative_mask) borrow the first prompt's embedding and key: never read by the loss.
        filled = [t if t else flat_prompts[0] for t in flat_negatives]
        inputs["negative_text_embeds"] = cache.lookup(filled).view(batch, events, num_negatives, dim)
        inputs["negative_text_keys"] = cache.keys(filled).view(batch, events, num_negatives)
        inputs["negative_mask"] = valid
    return inputs
