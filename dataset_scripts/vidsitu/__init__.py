"""VidSitu for FiGCLIP: the official release → rule-based SRL prompts, verb-role hard negatives and lazily decoded
frames, as a `datasets` builder; plus a writer of synthetic releases in the same format.

Quick start::

    from dataset_scripts.vidsitu import load_vidsitu, write_synthetic_release

    release = write_synthetic_release("/tmp/vidsitu", num_train=8, video="mp4")
    train = load_vidsitu(release.root, split="train", video_dir=release.video_dir, jitter=True)
    print(train[0]["events"][0]["prompt"], train[0]["pixel_values_videos"].shape)  # (5, 4, 3, 64, 64)
"""

from .builder import NEGATIVE_SAMPLING, PreparedSplit, VidSituBuilder, VidSituConfig, load_vidsitu, prepare_vidsitu
from .frames import VidSituFrameLoader, event_sample_times
from .lexicon import VerbFrame, VerbLexicon, build_verb_lexicon
from .negatives import NegativeDraw, NegativeSampler, draw_negatives, event_rng, verb_role_negatives
from .prompts import (
    clean_role_description,
    is_empty_value,
    clean_verb_lemma,
    no_template_prompt,
    parse_role_key,
    srl_prompt,
    verb_only_prompt,
)
from .reader import parse_annotation, parse_event, read_annotated_split
from .schema import FEATURES, SPLITS, VidSituFormatError
from .transforms import EpochNegatives, VidSituTransform, attach_transform, vidsitu_transform
from .synthetic import (
    SyntheticRelease,
    default_frames_fn,
    make_synthetic_annotations,
    write_frame_folder,
    write_mp4,
    write_release,
    write_synthetic_release,
)

__all__ = [
    "EpochNegatives",
    "FEATURES",
    "NEGATIVE_SAMPLING",
    "NegativeDraw",
    "NegativeSampler",
    "PreparedSplit",
    "VidSituTransform",
    "attach_transform",
    "draw_negatives",
    "prepare_vidsitu",
    "vidsitu_transform",
    "SPLITS",
    "SyntheticRelease",
    "VerbFrame",
    "VerbLexicon",
    "VidSituBuilder",
    "VidSituConfig",
    "VidSituFormatError",
    "VidSituFrameLoader",
    "build_verb_lexicon",
    "clean_role_description",
    "clean_verb_lemma",
    "default_frames_fn",
    "event_rng",
    "event_sample_times",
    "load_vidsitu",
    "make_synthetic_annotations",
    "parse_annotation",
    "parse_event",
    "is_empty_value",
    "parse_role_key",
    "read_annotated_split",
    "srl_prompt",
    "verb_only_prompt",
    "no_template_prompt",
    "verb_role_negatives",
    "write_frame_folder",
    "write_mp4",
    "write_release",
    "write_synthetic_release",
]
