"""FiGCLIP: CLIP adapted to videos with semantic-role prompts (arXiv 2401.07669, later "SRL-CLIP").

`FigClipModel` is a `CLIPModel`: image/text features, `forward(input_ids, pixel_values)`, `return_loss` and the
zero-shot pipelines behave exactly as in CLIP. It adds a video path:

- `get_video_features(pixel_values_videos)` encodes every frame once with CLIP's image encoder, mean-pools frames into
  CLIP-level event and video embeddings, and runs the Video Contextualizer for VC-level event and video embeddings.
- `forward(pixel_values_videos=..., input_ids=(batch, events, seq), negative_input_ids=(batch, events, N, seq))`
  computes the paper's loss `L_clip_event + L_vc_event + λ (L_clip_video + L_vc_video)` (see `loss_figclip`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import CLIPModel
from transformers import initialization as init
from transformers.models.clip.modeling_clip import CLIPMLP, CLIPAttention
from transformers.modeling_outputs import ModelOutput

from .configuration_figclip import FigClipConfig
from .contextualizer import VideoContextualizer
from .loss_figclip import (
    FigClipLoss,
    FigClipLossInputs,
    RetentionLossInputs,
    text_identity_keys,
    text_keys_from_embeddings,
    video_text_embeddings,
)
from .utils import to_embedding_tensor

# CLIP clamps its learned temperature at 100 (logit_scale = log 100).
MAX_LOGIT_SCALE = 100.0

# Written beside a peft adapter: the FiGCLIP settings (contextualiser shape, losses) the adapter was trained with, so
# the base model is rebuilt with a matching contextualiser before the adapter's weights are loaded into it.
FIGCLIP_ADAPTER_CONFIG_NAME = "figclip_config.json"


def read_figclip_adapter_config(name_or_path: str, **hub_kwargs) -> dict | None:
    """The `figclip_config.json` of an adapter folder or Hub repo, or None when there is none."""
    import json

    from transformers.utils import cached_file

    allowed = {k: hub_kwargs[k] for k in ("cache_dir", "revision", "token", "local_files_only", "subfolder") if k in hub_kwargs}
    try:
        path = cached_file(
            name_or_path, FIGCLIP_ADAPTER_CONFIG_NAME, _raise_exceptions_for_missing_entries=False,
            _raise_exceptions_for_connection_errors=False, **allowed,
        )
    except OSError:
        return None
    if path is None:
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


@dataclass
class FigClipVideoOutput(ModelOutput):
    """Output of `FigClipModel.get_video_features`, following transformers' `get_*_features` convention
    (`last_hidden_state`, `pooler_output`, `hidden_states`, `attentions`) with FiGCLIP's frame, event and video levels
    as extra fields. Per-frame tensors keep the input's layout `(batch, events, frames, ...)`; absent frames are zeros.
    All embeddings are L2-normalised; absent events/frames are zero vectors.

    Args:
        last_hidden_state: `(batch, events, frames, seq, hidden)` the vision tower's last hidden state of every frame.
        pooler_output: `(batch, dim)` the video embedding: the CLIP-level one (`clip_video_embeds`), which is what
            zero-shot retrieval uses (paper §3.4).
        hidden_states: with `output_hidden_states`, one `(batch, events, frames, seq, hidden)` tensor per layer.
        attentions: with `output_attentions`, one `(batch, events, frames, heads, seq, seq)` tensor per layer.
        frame_embeds: `(batch, events, frames, dim)` image-encoder embeddings of each frame.
        clip_event_embeds: `(batch, events, dim)` CLIP-level event embeddings (mean of the event's frames).
        clip_video_embeds: `(batch, dim)` CLIP-level video embeddings (mean of all frames of the video).
        vc_event_embeds: `(batch, events, dim)` contextualised event tokens, or None without the contextualiser.
        vc_video_embeds: `(batch, dim)` contextualised video token, or None without the contextualiser.
        event_mask: `(batch, events)` bool, the events that are present.
        frame_mask: `(batch, events, frames)` bool, the frames that are present.
    """

    last_hidden_state: torch.Tensor | None = None
    pooler_output: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None
    frame_embeds: torch.Tensor | None = None
    clip_event_embeds: torch.Tensor | None = None
    clip_video_embeds: torch.Tensor | None = None
    vc_event_embeds: torch.Tensor | None = None
    vc_video_embeds: torch.Tensor | None = None
    event_mask: torch.Tensor | None = None
    frame_mask: torch.Tensor | None = None


def _per_frame(packed: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """`(present frames, ...)` → `(batch, events, frames, ...)` with zeros for absent frames (a view when every frame
    is present)."""
    if bool(frame_mask.all()):
        return packed.reshape(*frame_mask.shape, *packed.shape[1:])
    out = packed.new_zeros(*frame_mask.shape, *packed.shape[1:])
    out[frame_mask] = packed
    return out


@dataclass
class FigClipOutput(ModelOutput):
    """Output of `FigClipModel.forward` on videos.

    Args:
        loss: the weighted total `L_clip_event + L_vc_event + λ (L_clip_video + L_vc_video)` over enabled terms.
        loss_clip_event, loss_vc_event, loss_clip_video, loss_vc_video: each term (None when disabled).
        logits_clip_event: `(M, M)` event→prompt logits over the M present events of the (global) batch.
        logits_vc_event: the same for contextualised event tokens.
        negative_logits_clip_event, negative_logits_vc_event: `(M, N)` logits against each event's hard negatives.
        logits_clip_video, logits_vc_video: `(V, V)` video→text logits over the V videos of the (global) batch that
            have a present event.
        video_embeds: the `FigClipVideoOutput` of this process's videos.
        text_event_embeds: `(batch, events, dim)` normalised prompt embeddings.
        text_video_embeds: `(batch, dim)` normalised video-level text embeddings.
        negative_text_embeds: `(batch, events, N, dim)` normalised hard-negative embeddings, if given.
        loss_distillation: the distillation term (retention option; with `base_frame_embeds`), unweighted.
        loss_replay: the replay term (retention option; with `replay_pixel_values`), unweighted.
        logits_replay: `(R, R)` replay image→caption logits over the (global) replay batch.
    """

    loss: torch.Tensor | None = None
    loss_clip_event: torch.Tensor | None = None
    loss_vc_event: torch.Tensor | None = None
    loss_clip_video: torch.Tensor | None = None
    loss_vc_video: torch.Tensor | None = None
    logits_clip_event: torch.Tensor | None = None
    logits_vc_event: torch.Tensor | None = None
    negative_logits_clip_event: torch.Tensor | None = None
    negative_logits_vc_event: torch.Tensor | None = None
    logits_clip_video: torch.Tensor | None = None
    logits_vc_video: torch.Tensor | None = None
    video_embeds: FigClipVideoOutput | None = None
    text_event_embeds: torch.Tensor | None = None
    text_video_embeds: torch.Tensor | None = None
    negative_text_embeds: torch.Tensor | None = None
    loss_distillation: torch.Tensor | None = None
    loss_replay: torch.Tensor | None = None
    logits_replay: torch.Tensor | None = None


def _shape(tensor: torch.Tensor | None) -> str:
    return "None" if tensor is None else str(tuple(tensor.shape))


class FigClipModel(CLIPModel):
    """CLIP with FiGCLIP's video path, Video Contextualizer and hierarchical losses.

    A plain CLIP checkpoint loads directly: `FigClipModel.from_pretrained("openai/clip-vit-base-patch32")` keeps every
    CLIP weight and initialises the contextualiser (reported as newly initialised weights in the load report).
    """

    config_class = FigClipConfig
    config: FigClipConfig

    def __init__(self, config: FigClipConfig):
        if not isinstance(config, FigClipConfig):
            # A CLIPConfig (e.g. from a plain CLIP checkpoint) gets the FiGCLIP defaults.
            config = FigClipConfig.from_clip_config(config)
        super().__init__(config)
        self.video_contextualizer = (
            VideoContextualizer(
                embed_dim=config.projection_dim,
                num_layers=config.vc_num_layers,
                num_attention_heads=config.vc_num_attention_heads,
                intermediate_size=config.vc_intermediate_size,
                max_events=config.max_events,
                max_frames_per_event=config.max_frames_per_event,
                dropout=config.vc_dropout,
                attn_implementation=config._attn_implementation,
                readout=config.vc_readout,
            )
            if config.use_contextualizer
            else None
        )
        self.objective = FigClipLoss(config)  # the whole training objective (no parameters)
        self.post_init()

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        """`CLIPModel.from_pretrained`, plus FiGCLIP adapters: for a folder/repo holding a peft adapter and its
        `figclip_config.json`, the base model is built with the adapter's contextualiser settings first (explicit
        keyword arguments still win), then transformers attaches the adapter.

        `adapter_scale=α` (α ∈ [0, 1], adapters only) scales the adapter's learned change: the LoRA deltas and the
        contextualiser's share of the VC-level embeddings (`modeling_figclip.set_adapter_scale`); 0 is the base model,
        1 the adapter as trained. `feature_ensemble=λ` (adapters only) reads images out as the output-space
        ensemble `normalize((1 − λ) · base + λ · adapted)` (`modeling_figclip.set_feature_ensemble`)."""
        adapter_scale = kwargs.pop("adapter_scale", None)
        feature_ensemble = kwargs.pop("feature_ensemble", None)
        if pretrained_model_name_or_path is not None:
            saved = read_figclip_adapter_config(str(pretrained_model_name_or_path), **kwargs)
            for name, value in (saved or {}).items():
                kwargs.setdefault(name, value)
        model = super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)
        if adapter_scale is not None:
            from .adapters import set_adapter_scale  # adapters imports this module

            set_adapter_scale(model, adapter_scale)
        if feature_ensemble is not None:
            from .adapters import set_feature_ensemble

            set_feature_ensemble(model, feature_ensemble)
        return model

    @torch.no_grad()
    def initialize_weights(self):
        """transformers' initialisation, plus CLIP's scaled init for the towers' attention and MLP projections.

        For a model defined outside the library, transformers skips modules without parameters of their own
        (`CLIPAttention`, `CLIPMLP`), so projections missing from a checkpoint would keep the generic N(0, 0.02)
        instead of CLIP's scaled initialisation. They get it here; `transformers.initialization` leaves every weight
        loaded from the checkpoint untouched.
        """
        super().initialize_weights()
        with init.guard_torch_init_functions():
            for name, child in self.named_modules():
                if isinstance(child, (CLIPAttention, CLIPMLP)) and not name.startswith("video_contextualizer."):
                    super()._init_weights(child)

    @torch.no_grad()
    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, VideoContextualizer):
            # transformers skips parameter-less containers (e.g. CLIPAttention) of non-library models, so the
            # contextualiser initialises all of its parameters itself.
            module.reset_parameters(std=0.02 * self.config.initializer_factor)


    # ------------------------------------------------------------------ inputs
    def _validate_video_inputs(
        self,
        pixel_values_videos: torch.Tensor,
        event_mask: torch.Tensor | None,
        frame_mask: torch.Tensor | None,
        use_contextualizer: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Check shapes and return `(event_mask, frame_mask)` as bool tensors with every frame of a present event."""
        if not isinstance(pixel_values_videos, torch.Tensor) or pixel_values_videos.ndim != 6:
            raise ValueError(
                "pixel_values_videos must be a tensor shaped (batch, events, frames, channels, height, width), got "
                f"{_shape(pixel_values_videos) if isinstance(pixel_values_videos, torch.Tensor) else type(pixel_values_videos).__name__}."
            )
        batch, events, frames, channels = pixel_values_videos.shape[:4]
        if channels != self.config.vision_config.num_channels:
            raise ValueError(
                f"pixel_values_videos has {channels} channels in dim 3 (shape {_shape(pixel_values_videos)}); expected "
                f"{self.config.vision_config.num_channels}: (batch, events, frames, channels, height, width)."
            )
        if use_contextualizer:
            if events > self.config.max_events:
                raise ValueError(
                    f"pixel_values_videos has {events} events (shape {_shape(pixel_values_videos)}) but the "
                    f"contextualiser allows at most config.max_events={self.config.max_events}."
                )
            if frames > self.config.max_frames_per_event:
                raise ValueError(
                    f"pixel_values_videos has {frames} frames per event (shape {_shape(pixel_values_videos)}) but the "
                    f"contextualiser allows at most config.max_frames_per_event={self.config.max_frames_per_event}."
                )
        device = pixel_values_videos.device
        if event_mask is None:
            event_mask = torch.ones(batch, events, dtype=torch.bool, device=device)
        elif tuple(event_mask.shape) != (batch, events):
            raise ValueError(f"event_mask must have shape (batch, events) = {(batch, events)}, got {_shape(event_mask)}.")
        if frame_mask is None:
            frame_mask = torch.ones(batch, events, frames, dtype=torch.bool, device=device)
        elif tuple(frame_mask.shape) != (batch, events, frames):
            raise ValueError(
                f"frame_mask must have shape (batch, events, frames) = {(batch, events, frames)}, got {_shape(frame_mask)}."
            )
        event_mask = event_mask.to(device=device, dtype=torch.bool)
        frame_mask = frame_mask.to(device=device, dtype=torch.bool) & event_mask.unsqueeze(-1)
        empty_events = event_mask & ~frame_mask.any(dim=-1)
        if empty_events.any():
            video, event = empty_events.nonzero()[0].tolist()
            raise ValueError(f"event_mask marks event {event} of video {video} as present but frame_mask has no frame for it.")
        return event_mask, frame_mask

    # ------------------------------------------------------------------ features
    def get_image_features(self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool = False, **kwargs):
        """CLIP's `get_image_features`; with `config.feature_ensemble = λ < 1` (inference only, unmerged adapters),
        the projected embedding (`pooler_output`) is `normalize((1 − λ) · base + λ · adapted)`: the normalised
        embeddings of the same pixels with the vision LoRA deltas off and on (`set_feature_ensemble`)."""
        weight = self.config.feature_ensemble
        if weight == 1.0:
            return super().get_image_features(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding, **kwargs)
        if self.training:
            raise ValueError(
                f"feature_ensemble={weight} is an inference setting; set it back to 1 before training "
                "(modeling_figclip.set_feature_ensemble(model, 1.0))."
            )
        from .adapters import vision_adapters_off  # adapters imports this module

        with vision_adapters_off(self):
            base = super().get_image_features(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding, **kwargs)
        if weight == 0.0:  # the base model exactly
            return base
        adapted = super().get_image_features(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding, **kwargs)
        mixed = F.normalize(
            torch.lerp(F.normalize(to_embedding_tensor(base), dim=-1), F.normalize(to_embedding_tensor(adapted), dim=-1),
                       weight),
            dim=-1,
        )
        if isinstance(adapted, torch.Tensor):
            return mixed
        adapted.pooler_output = mixed  # the adapted pass's tower states, the ensembled projection
        return adapted

    def get_video_features(
        self,
        pixel_values_videos: torch.Tensor,
        event_mask: torch.Tensor | None = None,
        frame_mask: torch.Tensor | None = None,
        use_contextualizer: bool = True,
        interpolate_pos_encoding: bool = False,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> FigClipVideoOutput | tuple:
        """Encode videos into frame-, event- and video-level embeddings.

        Args:
            pixel_values_videos: `(batch, events, frames, 3, H, W)` processed frames (e.g. from `FigClipProcessor`).
            event_mask: `(batch, events)` bool; False marks an absent (padding) event. Default: all present. A video
                with no present event (e.g. an unreadable video in lenient mode) gets zero embeddings and enters no
                loss.
            frame_mask: `(batch, events, frames)` bool; False marks an absent frame. Default: all present.
            use_contextualizer: also compute VC-level embeddings. Without it any number of events and frames works
                (CLIP-level means only, as used for zero-shot retrieval).
            interpolate_pos_encoding: passed to CLIP's vision embeddings (other resolutions).
            output_hidden_states, output_attentions: also return the vision tower's per-layer states / attentions,
                per frame.
            return_dict: False returns `FigClipVideoOutput.to_tuple()` (transformers' convention).

        Returns:
            `FigClipVideoOutput`. Each present frame passes through the image encoder exactly once; absent frames are
            never encoded.
        """
        output = self._encode_videos(
            pixel_values_videos, event_mask, frame_mask, use_contextualizer, interpolate_pos_encoding,
            keep_frame_states=True, output_hidden_states=output_hidden_states, output_attentions=output_attentions,
            **kwargs,
        )  # fmt: skip
        return output if return_dict is not False else output.to_tuple()

    def _encode_videos(
        self,
        pixel_values_videos: torch.Tensor,
        event_mask: torch.Tensor | None,
        frame_mask: torch.Tensor | None,
        use_contextualizer: bool,
        interpolate_pos_encoding: bool,
        keep_frame_states: bool = False,
        **vision_kwargs,
    ) -> FigClipVideoOutput:
        """`get_video_features`; the loss path leaves out the per-frame tower states (`keep_frame_states=False`),
        which would cost a copy whenever a frame is absent."""
        use_contextualizer = use_contextualizer and self.video_contextualizer is not None
        event_mask, frame_mask = self._validate_video_inputs(pixel_values_videos, event_mask, frame_mask, use_contextualizer)
        batch, events, frames = pixel_values_videos.shape[:3]

        tower = None
        if frame_mask.any():
            tower = self.get_image_features(
                pixel_values=pixel_values_videos[frame_mask], interpolate_pos_encoding=interpolate_pos_encoding,
                **{k: v for k, v in vision_kwargs.items() if v is not None},
            )  # fmt: skip
            present_embeds = F.normalize(to_embedding_tensor(tower), dim=-1)
        else:  # CLIP's attention cannot reshape an empty batch; nothing to encode
            present_embeds = pixel_values_videos.new_zeros(0, self.config.projection_dim)
        frame_embeds = _per_frame(present_embeds, frame_mask)

        weights = frame_mask.to(frame_embeds.dtype).unsqueeze(-1)
        clip_event_embeds = F.normalize((frame_embeds * weights).sum(dim=2), dim=-1)  # absent events stay 0
        clip_video_embeds = F.normalize((frame_embeds * weights).sum(dim=(1, 2)), dim=-1)

        vc_event_embeds = vc_video_embeds = None
        if use_contextualizer:
            vc_event_embeds, vc_video_embeds = self.video_contextualizer(
                frame_embeds, frame_mask, clip_event_embeds, clip_video_embeds
            )
            vc_event_embeds = F.normalize(vc_event_embeds, dim=-1) * event_mask.unsqueeze(-1).to(frame_embeds.dtype)
            video_present = event_mask.any(dim=-1, keepdim=True).to(frame_embeds.dtype)
            vc_video_embeds = F.normalize(vc_video_embeds, dim=-1) * video_present
            vc_event_embeds = self._interpolate_vc_level(clip_event_embeds, vc_event_embeds)
            vc_video_embeds = self._interpolate_vc_level(clip_video_embeds, vc_video_embeds)

        states = {}
        if keep_frame_states and tower is not None and not isinstance(tower, torch.Tensor):
            states["last_hidden_state"] = _per_frame(tower.last_hidden_state, frame_mask)
            for name in ("hidden_states", "attentions"):
                if getattr(tower, name, None) is not None:
                    states[name] = tuple(_per_frame(layer, frame_mask) for layer in getattr(tower, name))
        return FigClipVideoOutput(
            **states,
            pooler_output=clip_video_embeds,
            frame_embeds=frame_embeds,
            clip_event_embeds=clip_event_embeds,
            clip_video_embeds=clip_video_embeds,
            vc_event_embeds=vc_event_embeds,
            vc_video_embeds=vc_video_embeds,
            event_mask=event_mask,
            frame_mask=frame_mask,
        )

    def _interpolate_vc_level(self, clip_level: torch.Tensor, contextualised: torch.Tensor) -> torch.Tensor:
        """`normalize((1 − α) · clip_level + α · contextualised)` with α = `config.vc_interpolation`; exactly the
        contextualised embeddings at α = 1 and exactly the CLIP-level ones at α = 0 (absent events stay zero)."""
        weight = self.config.vc_interpolation
        if weight == 1.0:
            return contextualised
        if weight == 0.0:
            return clip_level
        return F.normalize(torch.lerp(clip_level, contextualised, weight), dim=-1)

    def encode_prompts(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised text embeddings for token ids of any leading shape `(..., seq)`.

        Without gradients when `config.freeze_text_encoder` (the paper's frozen text tower), so the result can be
        cached and reused.
        """
        leading = input_ids.shape[:-1]
        flat_ids = input_ids.reshape(-1, input_ids.shape[-1])
        flat_mask = attention_mask.reshape(-1, attention_mask.shape[-1]) if attention_mask is not None else None
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.config.freeze_text_encoder):
            features = to_embedding_tensor(self.get_text_features(input_ids=flat_ids, attention_mask=flat_mask))
        return F.normalize(features, dim=-1).reshape(*leading, -1)

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        pixel_values: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        return_loss: bool | None = None,
        interpolate_pos_encoding: bool = False,
        pixel_values_videos: torch.Tensor | None = None,
        event_mask: torch.Tensor | None = None,
        frame_mask: torch.Tensor | None = None,
        negative_input_ids: torch.LongTensor | None = None,
        negative_attention_mask: torch.Tensor | None = None,
        negative_mask: torch.Tensor | None = None,
        text_embeds: torch.Tensor | None = None,
        negative_text_embeds: torch.Tensor | None = None,
        text_keys: torch.Tensor | None = None,
        negative_text_keys: torch.Tensor | None = None,
        base_frame_embeds: torch.Tensor | None = None,
        generic_text_embeds: torch.Tensor | None = None,
        replay_pixel_values: torch.Tensor | None = None,
        replay_input_ids: torch.LongTensor | None = None,
        replay_attention_mask: torch.Tensor | None = None,
        replay_text_embeds: torch.Tensor | None = None,
        replay_text_keys: torch.Tensor | None = None,
        **kwargs,
    ):
        r"""
        Without `pixel_values_videos` this is exactly `CLIPModel.forward` (images + texts → `CLIPOutput`).

        With `pixel_values_videos` `(batch, events, frames, 3, H, W)`:

        Args:
            input_ids: `(batch, events, seq)` event prompts (or pass `text_embeds` `(batch, events, dim)` instead,
                e.g. from a cache of the frozen text encoder).
            attention_mask: `(batch, events, seq)` for `input_ids`.
            negative_input_ids: `(batch, events, N, seq)` verb-role-swapped prompts, N ≤ `config.num_hard_negatives`
                (or `negative_text_embeds` `(batch, events, N, dim)`).
            negative_attention_mask: `(batch, events, N, seq)`.
            negative_mask: `(batch, events, N)` bool, False for padding negatives (events with fewer than N).
            event_mask / frame_mask: see `get_video_features`. Absent events enter no loss.
            text_keys / negative_text_keys: optional integer text identities `(batch, events)` / `(batch, events, N)`
                (equal key = identical text, `text_identity_keys`); by default derived from the tokens the text tower
                sees, or from the exact embedding values when embeddings are passed. Used only with
                `config.mask_duplicate_texts`.
            return_loss: compute the losses (default True on the video path).

        Retention terms (opt-in; weighted by `config.distillation_weight` / `config.replay_loss_weight`):

        Args:
            base_frame_embeds: `(batch, events, frames, dim)` the frozen base model's L2-normalised embeddings of
                the same frames (`adapters.base_frame_embeddings`: the model with its adapters disabled); adds
                `loss_distillation`.
            generic_text_embeds: `(K, dim)` generic caption embeddings, for `distillation_target="similarities"`.
            replay_pixel_values: `(R, 3, H, W)` generic images; adds `loss_replay`, CLIP's InfoNCE against their
                captions, given as `replay_input_ids` (+ `replay_attention_mask`) `(R, seq)` or `replay_text_embeds`
                `(R, dim)` (with optional identities `replay_text_keys` `(R,)`).
        """
        if pixel_values_videos is None:
            return super().forward(
                input_ids=input_ids,
                pixel_values=pixel_values,
                attention_mask=attention_mask,
                position_ids=position_ids,
                return_loss=return_loss,
                interpolate_pos_encoding=interpolate_pos_encoding,
                **kwargs,
            )
        return self._forward_videos(
            pixel_values_videos=pixel_values_videos,
            input_ids=input_ids,
            attention_mask=attention_mask,
            event_mask=event_mask,
            frame_mask=frame_mask,
            negative_input_ids=negative_input_ids,
            negative_attention_mask=negative_attention_mask,
            negative_mask=negative_mask,
            text_embeds=text_embeds,
            negative_text_embeds=negative_text_embeds,
            text_keys=text_keys,
            negative_text_keys=negative_text_keys,
            return_loss=True if return_loss is None else return_loss,
            interpolate_pos_encoding=interpolate_pos_encoding,
            retention_inputs=dict(
                base_frame_embeds=base_frame_embeds, generic_text_embeds=generic_text_embeds,
                replay_pixel_values=replay_pixel_values, replay_input_ids=replay_input_ids,
                replay_attention_mask=replay_attention_mask, replay_text_embeds=replay_text_embeds,
                replay_text_keys=replay_text_keys,
            ),
        )

    def _text_keys(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        return text_identity_keys(input_ids, attention_mask, eos_token_id=self.config.text_config.eos_token_id)

    def _event_text_inputs(self, batch: int, events: int, input_ids, attention_mask, text_embeds, text_keys):
        if (input_ids is None) == (text_embeds is None):
            raise ValueError("Pass exactly one of input_ids (batch, events, seq) or text_embeds (batch, events, dim).")
        if input_ids is not None:
            if input_ids.ndim != 3 or tuple(input_ids.shape[:2]) != (batch, events):
                raise ValueError(
                    f"input_ids must have shape (batch, events, seq) with (batch, events) = {(batch, events)} to match "
                    f"pixel_values_videos, got {_shape(input_ids)}."
                )
            if attention_mask is not None and attention_mask.shape != input_ids.shape:
                raise ValueError(f"attention_mask must have the shape of input_ids {_shape(input_ids)}, got {_shape(attention_mask)}.")
            embeds = self.encode_prompts(input_ids, attention_mask)
            keys = text_keys if text_keys is not None else self._text_keys(input_ids, attention_mask)
        else:
            if text_embeds.ndim != 3 or tuple(text_embeds.shape[:2]) != (batch, events):
                raise ValueError(
                    f"text_embeds must have shape (batch, events, dim) with (batch, events) = {(batch, events)}, got "
                    f"{_shape(text_embeds)}."
                )
            embeds = F.normalize(text_embeds, dim=-1)
            keys = text_keys if text_keys is not None else text_keys_from_embeddings(text_embeds)
        return embeds, keys

    def _negative_text_inputs(
        self, batch, events, negative_input_ids, negative_attention_mask, negative_text_embeds, negative_mask, negative_text_keys
    ):
        if negative_input_ids is None and negative_text_embeds is None:
            return None, None, None
        if negative_input_ids is not None and negative_text_embeds is not None:
            raise ValueError("Pass at most one of negative_input_ids and negative_text_embeds.")
        source_name, source = (
            ("negative_input_ids", negative_input_ids)
            if negative_input_ids is not None
            else ("negative_text_embeds", negative_text_embeds)
        )
        if source.ndim != 4 or tuple(source.shape[:2]) != (batch, events):
            raise ValueError(
                f"{source_name} must have shape (batch, events, num_negatives, {'seq' if negative_input_ids is not None else 'dim'}) "
                f"with (batch, events) = {(batch, events)}, got {_shape(source)}."
            )
        num_negatives = source.shape[2]
        if num_negatives > self.config.num_hard_negatives:
            raise ValueError(
                f"{source_name} has {num_negatives} negatives per event (shape {_shape(source)}) but "
                f"config.num_hard_negatives={self.config.num_hard_negatives}."
            )
        if negative_mask is not None and tuple(negative_mask.shape) != (batch, events, num_negatives):
            raise ValueError(
                f"negative_mask must have shape (batch, events, num_negatives) = {(batch, events, num_negatives)}, got "
                f"{_shape(negative_mask)}."
            )
        if negative_input_ids is not None:
            if negative_attention_mask is not None and negative_attention_mask.shape != negative_input_ids.shape:
                raise ValueError(
                    f"negative_attention_mask must have the shape of negative_input_ids {_shape(negative_input_ids)}, "
                    f"got {_shape(negative_attention_mask)}."
                )
            embeds = self.encode_prompts(negative_input_ids, negative_attention_mask)
            keys = negative_text_keys
            if keys is None:
                keys = self._text_keys(negative_input_ids, negative_attention_mask)
        else:
            embeds = F.normalize(negative_text_embeds, dim=-1)
            keys = negative_text_keys if negative_text_keys is not None else text_keys_from_embeddings(negative_text_embeds)
        valid = negative_mask.bool() if negative_mask is not None else torch.ones(embeds.shape[:3], dtype=torch.bool, device=embeds.device)
        return embeds, valid, keys

    def _forward_videos(
        self,
        pixel_values_videos,
        input_ids,
        attention_mask,
        event_mask,
        frame_mask,
        negative_input_ids,
        negative_attention_mask,
        negative_mask,
        text_embeds,
        negative_text_embeds,
        text_keys,
        negative_text_keys,
        return_loss,
        interpolate_pos_encoding,
        retention_inputs: dict | None = None,
    ) -> FigClipOutput:
        enabled = self.config.enabled_losses
        video = self._encode_videos(
            pixel_values_videos,
            event_mask,
            frame_mask,
            # Without a VC loss the contextualiser would get no gradient (and DDP would complain about it).
            use_contextualizer=enabled["vc_event"] or enabled["vc_video"] or not return_loss,
            interpolate_pos_encoding=interpolate_pos_encoding,
        )
        batch, events = video.event_mask.shape
        event_text, event_keys = self._event_text_inputs(batch, events, input_ids, attention_mask, text_embeds, text_keys)
        negative_text, negative_valid, negative_keys = self._negative_text_inputs(
            batch, events, negative_input_ids, negative_attention_mask, negative_text_embeds, negative_mask, negative_text_keys
        )
        event_text = event_text.to(video.clip_event_embeds.dtype)
        if negative_text is not None:
            negative_text = negative_text.to(video.clip_event_embeds.dtype)
        video_text = video_text_embeddings(event_text, video.event_mask)
        output = FigClipOutput(
            video_embeds=video,
            text_event_embeds=event_text,
            text_video_embeds=video_text,
            negative_text_embeds=negative_text,
        )
        if not return_loss:
            return output
        retention = self._retention_loss_inputs(video, **(retention_inputs or {}))
        return self._compute_losses(output, event_keys, negative_valid, negative_keys, retention)

    def _retention_loss_inputs(
        self,
        video: FigClipVideoOutput,
        base_frame_embeds=None,
        generic_text_embeds=None,
        replay_pixel_values=None,
        replay_input_ids=None,
        replay_attention_mask=None,
        replay_text_embeds=None,
        replay_text_keys=None,
    ) -> RetentionLossInputs | None:
        """The retention terms' inputs from the forward's retention arguments (None when none is given)."""
        retention = RetentionLossInputs()
        if base_frame_embeds is not None:
            if tuple(base_frame_embeds.shape) != tuple(video.frame_embeds.shape):
                raise ValueError(
                    f"base_frame_embeds must have the shape of the frame embeddings {_shape(video.frame_embeds)} "
                    f"(batch, events, frames, dim), got {_shape(base_frame_embeds)}."
                )
            retention.frames = video.frame_embeds[video.frame_mask]
            retention.base_frames = base_frame_embeds[video.frame_mask]  # normalised, as the frame embeddings
            if generic_text_embeds is not None:
                retention.generic_text = F.normalize(generic_text_embeds, dim=-1)
        if replay_pixel_values is not None:
            if (replay_input_ids is None) == (replay_text_embeds is None):
                raise ValueError("With replay_pixel_values pass exactly one of replay_input_ids or replay_text_embeds.")
            image = to_embedding_tensor(self.get_image_features(pixel_values=replay_pixel_values))
            retention.replay_image = F.normalize(image, dim=-1)
            if replay_input_ids is not None:
                retention.replay_text = self.encode_prompts(replay_input_ids, replay_attention_mask)
                keys = self._text_keys(replay_input_ids, replay_attention_mask)
            else:
                retention.replay_text = F.normalize(replay_text_embeds, dim=-1)
                keys = text_keys_from_embeddings(replay_text_embeds)
            retention.replay_text = retention.replay_text.to(retention.replay_image.dtype)
            retention.replay_keys = replay_text_keys if replay_text_keys is not None else keys
            if retention.replay_image.shape[0] != retention.replay_text.shape[0]:
                raise ValueError(
                    f"replay_pixel_values has {retention.replay_image.shape[0]} images but the replay captions number "
                    f"{retention.replay_text.shape[0]}."
                )
        if not (retention.has_distillation or retention.has_replay):
            return None
        return retention

    def _compute_losses(self, output: FigClipOutput, event_keys, negative_valid, negative_keys,
                        retention: RetentionLossInputs | None = None) -> FigClipOutput:
        """Apply the objective (`FigClipLoss`) and copy every term and logit matrix onto the output."""
        video = output.video_embeds
        result = self.objective(
            FigClipLossInputs(
                event_mask=video.event_mask,
                clip_event=video.clip_event_embeds,
                clip_video=video.clip_video_embeds,
                vc_event=video.vc_event_embeds,
                vc_video=video.vc_video_embeds,
                text_event=output.text_event_embeds,
                event_keys=event_keys,
                negatives=output.negative_text_embeds,
                negative_valid=negative_valid,
                negative_keys=negative_keys,
            ),
            logit_scale=self.logit_scale.exp().clamp(max=MAX_LOGIT_SCALE),
            retention=retention,
        )
        output.loss = result.loss
        for name, value in result.terms.items():
            setattr(output, name, value)
        return output


__all__ = ["FIGCLIP_ADAPTER_CONFIG_NAME", "FigClipModel", "FigClipOutput", "FigClipVideoOutput", "read_figclip_adapter_config"]
