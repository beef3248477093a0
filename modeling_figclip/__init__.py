"""FiGCLIP-HF: fine-grained CLIP adaptation via densely annotated videos (arXiv 2401.07669), for Hugging Face.

Importing this package registers `model_type="figclip"` with transformers' auto classes: `AutoConfig`, `AutoModel` and
`AutoModelForZeroShotImageClassification` return `FigClipConfig` / `FigClipModel` for a saved FiGCLIP checkpoint (so
`pipeline("zero-shot-image-classification", model=<folder>)` works as for CLIP), and `AutoProcessor` its
`FigClipProcessor`.
"""

from transformers import AutoConfig, AutoModel, AutoModelForZeroShotImageClassification, AutoProcessor

from .adapters import (
    LORA_TARGETS,
    add_figclip_adapters,
    base_frame_embeddings,
    figclip_lora_config,
    load_figclip_adapters,
    merge_figclip_adapters,
    save_figclip_adapters,
    set_adapter_scale,
    set_feature_ensemble,
    to_clip_model,
    trainable_parameter_report,
    vision_adapters_off,
)
from .configuration_figclip import FigClipConfig
from .modeling_figclip import FigClipModel, FigClipOutput, FigClipVideoOutput
from .processing_figclip import FigClipProcessor

AutoConfig.register(FigClipConfig.model_type, FigClipConfig, exist_ok=True)
AutoModel.register(FigClipConfig, FigClipModel, exist_ok=True)
AutoModelForZeroShotImageClassification.register(FigClipConfig, FigClipModel, exist_ok=True)
AutoProcessor.register(FigClipConfig, FigClipProcessor, exist_ok=True)

__version__ = "0.1.0"

__all__ = [
    "LORA_TARGETS",
    "FigClipConfig",
    "FigClipModel",
    "FigClipOutput",
    "FigClipProcessor",
    "FigClipVideoOutput",
    "__version__",
    "add_figclip_adapters",
    "base_frame_embeddings",
    "figclip_lora_config",
    "load_figclip_adapters",
    "merge_figclip_adapters",
    "save_figclip_adapters",
    "set_adapter_scale",
    "set_feature_ensemble",
    "to_clip_model",
    "trainable_parameter_report",
    "vision_adapters_off",
]
