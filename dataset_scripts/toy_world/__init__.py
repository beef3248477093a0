"""A miniature, procedurally rendered VidSitu-like world in which the FiGCLIP effect can be measured on a CPU.

Two shapes with colours and sizes act out verbs (move, jump, spin, grow, shrink, chase, follow, push, pull, approach,
flee) on a scene, 5 events × 2 s per 10 s clip, and the world is written out as

- a web-style image–caption corpus (bag-of-words captions) to pretrain a tiny base CLIP,
- a VidSitu release with the official file names and schema (what FiGCLIP adapts on), and
- held-out benchmarks in the official ARO / SugarCrepe / MSR-VTT formats.

Entry points: `build_world(output_dir, WorldConfig(...))`, or ``python -m dataset_scripts.toy_world --output_dir …``.
"""

from .grammar import COLOURS, SCENES, SHAPES, SIZES, VERBS, ClipSpec, Entity, EventSpec, Verb, sample_clip
from .render import render_clip
from .text import natural_caption, pos_tagger, world_srl_prompt, web_caption, world_vocabulary
from .world import WorldConfig, build_world, load_manifest, world_clips, world_fingerprint

__all__ = [
    "COLOURS", "SCENES", "SHAPES", "SIZES", "VERBS", "ClipSpec", "Entity", "EventSpec", "Verb", "WorldConfig",
    "build_world", "load_manifest", "natural_caption", "pos_tagger", "render_clip", "sample_clip", "world_srl_prompt",
    "web_caption", "world_clips", "world_fingerprint", "world_vocabulary",
]
