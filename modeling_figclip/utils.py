"""Small helpers shared by the model, the training loop and the evaluators."""

from __future__ import annotations

import torch


def to_embedding_tensor(features: object) -> torch.Tensor:
    """Return the projected embedding from `get_image_features`/`get_text_features`.

    transformers 5 returns a `BaseModelOutputWithPooling` whose `pooler_output` is the projected embedding;
    transformers 4 returned the tensor itself. Accept both so evaluators work with any CLIP-family model.
    """
    if isinstance(features, torch.Tensor):
        return features
    pooled = getattr(features, "pooler_output", None)
    if pooled is None:
        raise TypeError(f"Expected a tensor or an output with `pooler_output`, got {type(features).__name__}.")
    return pooled


def l2_normalize(embeddings: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """L2-normalise along the last dimension (zero vectors stay zero instead of becoming NaN)."""
    return embeddings / embeddings.norm(dim=-1, keepdim=True).clamp_min(eps)
