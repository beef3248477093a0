"""Readers for the official benchmark files used by the FiGCLIP evaluation suite.

Each reader checks the files in the official format, names the file and row/key of any problem, and either raises
`BenchmarkDataError` or, with a `SkipLog(skip_missing=True)`, records and drops the item.
"""

from .action_recognition import (
    ACTION_DATASETS,
    KINETICS_TEMPLATES,
    UCF101_TEMPLATES,
    ActionSplit,
    class_name_to_text,
    find_split_files,
    load_class_names,
    load_split,
)
from .aro import OrderItem, VgItem, load_order, load_vg, vg_relation_excluded
from .common import BenchmarkDataError, SkipLog, load_json, load_rgb_image
from .perturbations import TextShuffler, pre_caption, spacy_tagger
from .retrieval_csv import RetrievalData, find_retrieval_csv, load_retrieval_csv
from .sugarcrepe import SUGARCREPE_SUBSETS, CaptionPairItem, load_sugarcrepe
from .video_io import VIDEO_EXTENSIONS, VideoDecodeError, read_video_frames, resolve_video_path, uniform_frame_indices

__all__ = [
    "ACTION_DATASETS",
    "KINETICS_TEMPLATES",
    "SUGARCREPE_SUBSETS",
    "UCF101_TEMPLATES",
    "VIDEO_EXTENSIONS",
    "ActionSplit",
    "BenchmarkDataError",
    "CaptionPairItem",
    "OrderItem",
    "RetrievalData",
    "SkipLog",
    "TextShuffler",
    "VgItem",
    "VideoDecodeError",
    "class_name_to_text",
    "find_retrieval_csv",
    "find_split_files",
    "load_class_names",
    "load_json",
    "load_order",
    "load_retrieval_csv",
    "load_rgb_image",
    "load_split",
    "load_sugarcrepe",
    "load_vg",
    "pre_caption",
    "read_video_frames",
    "resolve_video_path",
    "spacy_tagger",
    "uniform_frame_indices",
    "vg_relation_excluded",
]
