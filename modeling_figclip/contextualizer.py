"""The Video Contextualizer (paper §3.3): a Transformer over a video's video, event and frame tokens.

Input sequence for one video with E events of F frames (paper: E=5, F=4, so 1 + 5 + 20 = 26 tokens)::

    [v, e_1, f_1^1 … f_1^F, e_2, f_2^1 … f_2^F, …, e_E, f_E^1 … f_E^F]

Every token gets a type embedding (video / event / frame); event and frame tokens also get the embedding of their
event's position, and frame tokens the embedding of their position inside the event. The video token carries no
position (it summarises the whole clip). Absent events and frames are removed from attention with a key mask.

Implementation choices the paper leaves open (documented so that ablations can revisit them):

- Width = CLIP's projection dimension, so contextualised tokens are compared with text embeddings directly.
- Layers are transformers' own `CLIPEncoderLayer` (pre-norm, SDPA attention, gradient checkpointing), so the
  contextualiser shares CLIP's attention backends and initialisation.
- Read-out (`readout`): ``"token"`` (default, the paper's) takes the contextualised video and event tokens
  themselves, after a final layer norm, as the VC-level embeddings. ``"residual"`` (an ablation) returns
  `mean-pool + W·h` with `W` initialised to zero, so at initialisation the VC-level embeddings equal the CLIP-level
  (mean-pooled) ones and training learns a contextual correction.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import CLIPVisionConfig
from transformers.models.clip.modeling_clip import CLIPEncoder

TOKEN_TYPE_VIDEO, TOKEN_TYPE_EVENT, TOKEN_TYPE_FRAME = 0, 1, 2
#: How VC-level embeddings are read out of the contextualised tokens (see the module docstring).
VC_READOUTS = ("token", "residual")


class VideoContextualizer(nn.Module):
    """Contextualise frame embeddings into event- and video-level embeddings.

    Args:
        embed_dim: width of the frame embeddings and of every token (CLIP's `projection_dim`).
        num_layers: Transformer depth (paper: 6).
        num_attention_heads: attention heads.
        intermediate_size: feed-forward width (default `4 * embed_dim`).
        max_events: size of the event-position table.
        max_frames_per_event: size of the frame-position table.
        dropout: attention dropout.
        attn_implementation: transformers attention backend ("sdpa", "eager", ...).
        readout: ``"token"`` (the contextualised tokens, paper) or ``"residual"`` (mean-pool + zero-initialised
            projection of the tokens).
    """

    def __init__(
        self,
        embed_dim: int,
        num_layers: int = 6,
        num_attention_heads: int = 8,
        intermediate_size: int | None = None,
        max_events: int = 5,
        max_frames_per_event: int = 4,
        dropout: float = 0.0,
        attn_implementation: str | None = "sdpa",
        readout: str = "token",
    ) -> None:
        super().__init__()
        if readout not in VC_READOUTS:
            raise ValueError(f"readout must be one of {VC_READOUTS}, got {readout!r}")
        self.readout = readout
        self.embed_dim = embed_dim
        self.max_events = max_events
        self.max_frames_per_event = max_frames_per_event
        # A vision-config object only carries the layer hyper-parameters that CLIPEncoderLayer reads.
        self.config = CLIPVisionConfig(
            hidden_size=embed_dim,
            intermediate_size=intermediate_size or 4 * embed_dim,
            num_hidden_layers=num_layers,
            num_attention_heads=num_attention_heads,
            attention_dropout=dropout,
            hidden_act="quick_gelu",
        )
        self.config._attn_implementation = attn_implementation or "sdpa"

        self.video_token = nn.Parameter(torch.zeros(embed_dim))
        self.event_token = nn.Parameter(torch.zeros(embed_dim))
        self.type_embedding = nn.Embedding(3, embed_dim)
        self.event_position_embedding = nn.Embedding(max_events, embed_dim)
        self.frame_position_embedding = nn.Embedding(max_frames_per_event, embed_dim)
        self.encoder = CLIPEncoder(self.config)
        self.final_layer_norm = nn.LayerNorm(embed_dim, eps=self.config.layer_norm_eps)
        # Only the residual read-out has a projection (zero at initialisation).
        self.output_projection = nn.Linear(embed_dim, embed_dim, bias=False) if readout == "residual" else None

    def reset_parameters(self, std: float = 0.02) -> None:
        """Initialise every parameter: linear weights, tokens and embedding tables ~ N(0, std), biases 0, layer norms
        1/0, and the residual read-out's projection 0 (so VC-level embeddings start equal to the CLIP-level means).

        Uses `transformers.initialization`, whose functions leave weights loaded from a checkpoint untouched. Linear
        children without a plain ``weight`` (e.g. quantized layers) are left to their own initialisation, as CLIP's
        `_init_weights` does.
        """
        from transformers import initialization as init

        for module in self.modules():
            weight = getattr(module, "weight", None)
            bias = getattr(module, "bias", None)
            if isinstance(module, nn.Linear):
                if isinstance(weight, torch.Tensor):
                    init.normal_(weight, std=std)
                if isinstance(bias, torch.Tensor):
                    init.zeros_(bias)
            elif isinstance(module, nn.LayerNorm):
                if isinstance(weight, torch.Tensor):
                    init.ones_(weight)
                if isinstance(bias, torch.Tensor):
                    init.zeros_(bias)
            elif isinstance(module, nn.Embedding):
                init.normal_(module.weight, std=std)
        init.normal_(self.video_token, std=std)
        init.normal_(self.event_token, std=std)
        if self.output_projection is not None and isinstance(getattr(self.output_projection, "weight", None), torch.Tensor):
            init.zeros_(self.output_projection.weight)

    def forward(
        self,
        frame_embeds: torch.Tensor,
        frame_mask: torch.Tensor,
        clip_event_embeds: torch.Tensor,
        clip_video_embeds: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Contextualise one batch of videos.

        Args:
            frame_embeds: `(batch, events, frames, dim)` normalised frame embeddings (zeros where absent).
            frame_mask: `(batch, events, frames)` bool, True where the frame exists. An event with no frame is absent.
            clip_event_embeds: `(batch, events, dim)` mean-pooled event embeddings (the residual read-out's base).
            clip_video_embeds: `(batch, dim)` mean-pooled video embeddings (the residual read-out's base).

        Returns:
            `(event_embeds (batch, events, dim), video_embeds (batch, dim))`, not normalised.
        """
        batch, events, frames, dim = frame_embeds.shape
        dtype, device = frame_embeds.dtype, frame_embeds.device
        event_positions = self.event_position_embedding.weight[:events].to(dtype)  # (E, D)
        frame_positions = self.frame_position_embedding.weight[:frames].to(dtype)  # (F, D)
        types = self.type_embedding.weight.to(dtype)

        video_tokens = (self.video_token.to(dtype) + types[TOKEN_TYPE_VIDEO]).expand(batch, 1, dim)
        event_tokens = (self.event_token.to(dtype) + types[TOKEN_TYPE_EVENT] + event_positions).expand(batch, events, dim)
        frame_tokens = frame_embeds + types[TOKEN_TYPE_FRAME] + event_positions[:, None] + frame_positions[None]
        # Interleave: each event token is followed by its frames -> (batch, events, 1 + frames, dim).
        per_event = torch.cat([event_tokens.unsqueeze(2), frame_tokens], dim=2)
        tokens = torch.cat([video_tokens, per_event.reshape(batch, events * (1 + frames), dim)], dim=1)

        event_present = frame_mask.any(dim=-1)  # (B, E)
        per_event_mask = torch.cat([event_present.unsqueeze(-1), frame_mask], dim=-1)  # (B, E, 1 + F)
        key_mask = torch.cat(
            [torch.ones(batch, 1, dtype=torch.bool, device=device), per_event_mask.reshape(batch, -1)], dim=1
        )
        # Additive mask (B, 1, T, T): absent tokens are never attended to. Queries at absent positions still see the
        # video token, so no row is fully masked (which would give NaN in softmax).
        additive = torch.zeros(key_mask.shape, dtype=dtype, device=device)
        additive = additive.masked_fill(~key_mask, torch.finfo(dtype).min)
        attention_mask = additive[:, None, None, :].expand(batch, 1, tokens.shape[1], tokens.shape[1])

        hidden = self.encoder(inputs_embeds=tokens, attention_mask=attention_mask).last_hidden_state
        hidden = self.final_layer_norm(hidden)
        video_embeds = hidden[:, 0]
        event_embeds = hidden[:, 1:].reshape(batch, events, 1 + frames, dim)[:, :, 0]
        if self.output_projection is not None:
            video_embeds = clip_video_embeds + self.output_projection(video_embeds)
            event_embeds = clip_event_embeds + self.output_projection(event_embeds)
        return event_embeds * event_present.unsqueeze(-1).to(dtype), video_embeds
