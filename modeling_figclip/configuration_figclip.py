"""FiGCLIP configuration: CLIP's text/vision configuration plus the Video Contextualizer and the loss switches."""

from __future__ import annotations

from transformers import CLIPConfig

from .contextualizer import VC_READOUTS

#: What the distillation term compares (see `FigClipConfig.distillation_target`).
DISTILLATION_TARGETS = ("features", "similarities")


class FigClipConfig(CLIPConfig):
    r"""
    Configuration of a [`FigClipModel`]: everything [`CLIPConfig`] holds (text and vision towers, `projection_dim`,
    `logit_scale_init_value`) plus the FiGCLIP additions from the paper (arXiv 2401.07669, §3–§5).

    A plain CLIP configuration (`model_type="clip"`) can be turned into this one with `FigClipConfig(**clip.to_dict())`,
    and `FigClipModel.from_pretrained("openai/clip-vit-base-patch32")` does so implicitly; the fields below then take
    their defaults, which are the paper's settings.

    Args:
        vc_num_layers (`int`, *optional*, defaults to 6):
            Depth of the Video Contextualizer, a pre-norm Transformer encoder over
            `[video token, (event token, frame tokens) × events]`. The paper uses 6 layers.
        vc_num_attention_heads (`int`, *optional*, defaults to 8):
            Attention heads of the Video Contextualizer. Its width is `projection_dim` (the contextualiser works in
            CLIP's joint embedding space), so `projection_dim` must be divisible by this number.
        vc_intermediate_size (`int`, *optional*):
            Feed-forward width of the Video Contextualizer; defaults to `4 * projection_dim`.
        vc_dropout (`float`, *optional*, defaults to 0.0):
            Dropout inside the Video Contextualizer.
        vc_readout (`str`, *optional*, defaults to `"token"`):
            How VC-level embeddings are read out. `"token"` (the paper's): the contextualised video and event tokens
            themselves (after a final layer norm). `"residual"` (ablation): the CLIP-level mean-pooled embedding plus
            a zero-initialised projection of the contextualised token, so VC-level embeddings start equal to the
            CLIP-level ones.
        vc_interpolation (`float`, *optional*, defaults to 1.0):
            α ∈ [0, 1], the share of the contextualiser in the VC-level embeddings: each VC-level event/video
            embedding is `normalize((1 − α) · CLIP-level + α · contextualised)`. 1 (the paper's, and the default):
            the contextualised tokens; 0: the CLIP-level means, i.e. what a base CLIP without a trained contextualiser
            offers. Together with LoRA's scaling it is the adapter interpolation of `set_adapter_scale` (retention
            without retraining); training never changes it.
        feature_ensemble (`float`, *optional*, defaults to 1.0):
            λ ∈ [0, 1], inference only: each image (and frame) embedding is `normalize((1 − λ) · base + λ · adapted)`,
            the mix of the normalised embeddings of the base model (the vision LoRA deltas switched off) and of the
            adapted model. With the frozen text tower this is an output-space ensemble of the two models (WiSE-FT's
            other ensemble): every image→text similarity is, up to a positive per-image factor, `(1 − λ)` times the
            base's plus `λ` times the adapted model's. 1 (default): the adapted model alone. Costs a second pass of the
            vision tower; needs unmerged adapters (`set_feature_ensemble`). Not in the paper (a retention option).
        max_events (`int`, *optional*, defaults to 5):
            Most events per video (VidSitu: 5 events of 2 s). Sizes the event-position embedding.
        max_frames_per_event (`int`, *optional*, defaults to 4):
            Most frames per event (the paper samples 4). Sizes the frame-position embedding.
        video_loss_weight (`float`, *optional*, defaults to 0.25):
            λ in `L = L_clip_event + L_vc_event + λ (L_clip_video + L_vc_video)`.
        num_hard_negatives (`int`, *optional*, defaults to 4):
            Verb-role-swapped prompts per event used as extra negatives in the event-level losses (N_vr).
            `forward` accepts at most this many per event.
        use_clip_event_loss (`bool`, *optional*, defaults to `True`):
            Include `L_clip_event` (mean-pooled frames of an event vs its prompt).
        use_vc_event_loss (`bool`, *optional*, defaults to `True`):
            Include `L_vc_event` (contextualised event token vs its prompt).
        use_clip_video_loss (`bool`, *optional*, defaults to `True`):
            Include `L_clip_video` (mean of all frames vs the mean of the video's prompt embeddings).
        use_vc_video_loss (`bool`, *optional*, defaults to `True`):
            Include `L_vc_video` (contextualised video token vs the video's text embedding).
        use_contextualizer (`bool`, *optional*, defaults to `True`):
            Build and use the Video Contextualizer. With `False` the model has no contextualiser and the VC losses
            are off (the "no contextualizer" ablation).
        mask_duplicate_texts (`bool`, *optional*, defaults to `True`):
            VidSitu often annotates two events of one clip identically. With `True` a text identical to a row's
            positive (same tokens as the text tower sees them: `text_identity_keys`) is left out of that row's softmax
            denominator, in both directions, and a hard negative identical to its positive is dropped. With `False`
            every other column and every negative counts, duplicates included (plain CLIP InfoNCE).
        gather_across_processes (`bool`, *optional*, defaults to `True`):
            Under `torch.distributed`, gather embeddings from every process before the loss, so the loss on P
            processes equals the single-process loss on the same global batch.
        freeze_text_encoder (`bool`, *optional*, defaults to `True`):
            The paper keeps CLIP's text tower frozen; text features are then computed without gradients and can be
            cached.
        distillation_weight (`float`, *optional*, defaults to 0.0):
            β, weight of the distillation term that keeps the adapted image embeddings of the training frames close to
            the frozen base model's (the same model with its adapters disabled). 0 (default): off, the paper's
            objective. Not in the paper (a retention option).
        distillation_target (`str`, *optional*, defaults to `"features"`):
            What the distillation term compares. `"features"`: each present frame's adapted embedding with the base's,
            `½‖f − f_base‖²` (= 1 − cos for unit vectors). `"similarities"`: each frame's image→text distribution over
            a fixed set of generic captions, `KL(p_base ‖ p)` with `p = softmax(logit_scale · f · captionsᵀ)`, which
            leaves the embedding free to move in directions those captions do not read.
        replay_loss_weight (`float`, *optional*, defaults to 0.0):
            γ, weight of the replay term: CLIP's symmetric InfoNCE on a batch of generic image–caption pairs mixed into
            every training step. 0 (default): off. Not in the paper (a retention option).
    """

    model_type = "figclip"

    vc_num_layers: int = 6
    vc_num_attention_heads: int = 8
    vc_intermediate_size: int | None = None
    vc_dropout: float = 0.0
    vc_readout: str = "token"
    vc_interpolation: float = 1.0
    feature_ensemble: float = 1.0
    max_events: int = 5
    max_frames_per_event: int = 4
    video_loss_weight: float = 0.25
    num_hard_negatives: int = 4
    use_clip_event_loss: bool = True
    use_vc_event_loss: bool = True
    use_clip_video_loss: bool = True
    use_vc_video_loss: bool = True
    use_contextualizer: bool = True
    mask_duplicate_texts: bool = True
    gather_across_processes: bool = True
    freeze_text_encoder: bool = True
    distillation_weight: float = 0.0
    distillation_target: str = "features"
    replay_loss_weight: float = 0.0

    def __post_init__(self, **kwargs):
        # A plain CLIP config.json carries `model_type: "clip"`; keep the class's own type so a saved FiGCLIP
        # checkpoint resolves to FigClipModel through AutoModel.
        kwargs.pop("model_type", None)
        super().__post_init__(**kwargs)
        self.validate_figclip()

    def validate_figclip(self) -> None:
        """Raise a `ValueError` naming the field when a FiGCLIP setting is inconsistent."""
        projection_dim = self.projection_dim
        if self.vc_num_attention_heads <= 0 or projection_dim % self.vc_num_attention_heads != 0:
            raise ValueError(
                f"projection_dim ({projection_dim}) must be divisible by vc_num_attention_heads "
                f"({self.vc_num_attention_heads}): the Video Contextualizer works at CLIP's embedding width."
            )
        if self.vc_readout not in VC_READOUTS:
            raise ValueError(f"vc_readout must be one of {VC_READOUTS}, got {self.vc_readout!r}.")
        for name in ("vc_num_layers", "max_events", "max_frames_per_event"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.num_hard_negatives < 0:
            raise ValueError(f"num_hard_negatives must be >= 0, got {self.num_hard_negatives}.")
        for name in ("vc_interpolation", "feature_ensemble"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}.")
        for name in ("video_loss_weight", "distillation_weight", "replay_loss_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}.")
        if self.distillation_target not in DISTILLATION_TARGETS:
            raise ValueError(f"distillation_target must be one of {DISTILLATION_TARGETS}, got {self.distillation_target!r}.")
        if not any(self.enabled_losses.values()):
            raise ValueError("At least one loss term must be on (use_clip_event_loss, use_vc_event_loss, ...).")

    #: FiGCLIP's own fields (everything CLIPConfig does not have), in declaration order; saved beside adapters as
    #: `figclip_config.json`. Derived from the class body, so a new field is listed nowhere else.
    FIGCLIP_FIELDS = ()  # (not annotated: a class constant, not a config field)

    def figclip_fields(self) -> dict:
        """The FiGCLIP-specific settings, e.g. to rebuild the same contextualiser on another base checkpoint."""
        return {name: getattr(self, name) for name in self.FIGCLIP_FIELDS}

    @classmethod
    def from_clip_config(cls, clip_config, **figclip_kwargs) -> "FigClipConfig":
        """A FiGCLIP configuration with the towers of `clip_config` (a `CLIPConfig`) and FiGCLIP `figclip_kwargs`."""
        values = clip_config.to_dict()
        for key in ("model_type", "architectures", "transformers_version"):
            values.pop(key, None)
        values.update(figclip_kwargs)
        return cls(**values)

    @property
    def enabled_losses(self) -> dict[str, bool]:
        """Which of the four loss terms are on; VC terms are off without a contextualiser."""
        return {
            "clip_event": self.use_clip_event_loss,
            "vc_event": self.use_vc_event_loss and self.use_contextualizer,
            "clip_video": self.use_clip_video_loss,
            "vc_video": self.use_vc_video_loss and self.use_contextualizer,
        }


# `feature_ensemble` is how a loaded adapter is read out (it needs the adapter unmerged), not part of what an adapter
# is, so adapters never carry it in their figclip_config.json.
FigClipConfig.FIGCLIP_FIELDS = tuple(name for name in vars(FigClipConfig).get("__annotations__", {})
                                     if name != "feature_ensemble")
