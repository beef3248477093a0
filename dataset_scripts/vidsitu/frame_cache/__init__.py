"""A pre-decoded frame cache for VidSitu: decode every clip once, train and evaluate from JPEG shards.

Build (``python -m dataset_scripts.vidsitu.frame_cache --help``)::

    python -m dataset_scripts.vidsitu.frame_cache --vidsitu_dir /data/vidsitu --video_dir /data/vidsitu/videos \\
        --output_dir /data/vidsitu/frame_cache --model_name_or_path openai/clip-vit-base-patch32 --num_proc 16

Read: ``FrameCacheLoader(cache_dir, jitter=True, seed=0, image_mean=..., image_std=...)`` is a drop-in for
`VidSituFrameLoader` (``dataset.with_transform(loader)``); the training and evaluation recipes take
``--frame_cache DIR``. Modules: `layout` (what is stored where), `build`, `reader`, `jpeg` (CPU/GPU decoding).
"""

from .build import BuildResult, build_frame_cache, list_split_clip_ids, load_image_processor, verify_frame_cache
from .jpeg import JpegDecoder, Normalizer
from .layout import Manifest, candidate_choice, candidate_times
from .reader import CachedClip, FrameCache, FrameCacheLoader, decode_on_device

__all__ = [
    "BuildResult",
    "CachedClip",
    "FrameCache",
    "FrameCacheLoader",
    "JpegDecoder",
    "Manifest",
    "Normalizer",
    "build_frame_cache",
    "candidate_choice",
    "candidate_times",
    "decode_on_device",
    "list_split_clip_ids",
    "load_image_processor",
    "verify_frame_cache",
]
