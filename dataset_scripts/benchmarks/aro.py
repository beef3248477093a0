"""Readers for ARO (mertyg/vision-language-models-are-bows): VG-Relation, VG-Attribution, COCO-Order, Flickr30k-Order.

Official files and image roots (as the ARO code joins them):

| task | annotation file in `data_dir` | images (default `image_dir`) |
|---|---|---|
| `aro_vg_relation` | `visual_genome_relation.json` | `data_dir/images/` + `image_path` |
| `aro_vg_attribution` | `visual_genome_attribution.json` | `data_dir/images/` + `image_path` |
| `aro_coco_order` | `coco_karpathy_test.json` | `data_dir/` + `image` (e.g. `val2014/COCO_val2014_...jpg`) |
| `aro_flickr_order` | `flickr30k_test.json` | `data_dir/` + `image` (e.g. `flickr30k-images/....jpg`) |
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .common import BenchmarkDataError, SkipLog, is_nonempty_str, load_json
from .perturbations import ARO_ORDER_MAX_WORDS, TextShuffler

VG_RELATION_FILE = "visual_genome_relation.json"
VG_ATTRIBUTION_FILE = "visual_genome_attribution.json"
ORDER_FILES = {"coco": "coco_karpathy_test.json", "flickr": "flickr30k_test.json"}
EXCLUDED_RELATIONS_FILE = os.path.join(os.path.dirname(__file__), "aro_vg_relation_excluded.json")


@lru_cache(maxsize=1)
def vg_relation_excluded() -> tuple[str, ...]:
    """The 157 relation names the official notebook drops before the VG-Relation macro average (`symmetric`)."""
    with open(EXCLUDED_RELATIONS_FILE, encoding="utf-8") as handle:
        return tuple(json.load(handle)["relations"])


@dataclass(frozen=True)
class VgItem:
    """One VG-Relation/VG-Attribution case: a bbox crop and `[false_caption, true_caption]`; `group` keys the macro."""

    index: int
    image_path: str
    crop_box: tuple[float, float, float, float]  # (left, upper, right, lower), as ARO crops
    false_caption: str
    true_caption: str
    group: str


@dataclass(frozen=True)
class OrderItem:
    """One COCO/Flickr-Order case: an image and 5 caption options, the original first."""

    image_path: str
    image_index: int
    caption_index: int
    caption_options: tuple[str, ...]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def load_vg(data_dir: str, kind: str, image_dir: str | None = None, skip_log: SkipLog | None = None) -> list[VgItem]:
    """Read `visual_genome_relation.json` (`kind="relation"`) or `visual_genome_attribution.json` (`"attribution"`).

    The group of a relation item is its `relation_name`; of an attribution item `f"{attributes[0]}_{attributes[1]}"`.
    """
    if kind not in ("relation", "attribution"):
        raise ValueError(f"kind must be 'relation' or 'attribution', got {kind!r}.")
    skip_log = skip_log if skip_log is not None else SkipLog()
    path = os.path.join(data_dir, VG_RELATION_FILE if kind == "relation" else VG_ATTRIBUTION_FILE)
    image_dir = image_dir or os.path.join(data_dir, "images")
    records = load_json(path)
    if not isinstance(records, list):
        raise BenchmarkDataError(f"{path}: expected a JSON list of test cases, got {type(records).__name__}.")
    if not os.path.isdir(image_dir):
        raise BenchmarkDataError(f"ARO image folder {image_dir!r} does not exist (unzip vgr_vga_images.zip there).")
    items: list[VgItem] = []
    for index, record in enumerate(records):
        where = f"{path}, row {index}"
        problem = _vg_record_problem(record, kind)
        if problem:
            skip_log.problem(f"{where}: {problem}")
            continue
        image_path = os.path.join(image_dir, record["image_path"])
        if not os.path.isfile(image_path):
            skip_log.problem(f"{where}: image {image_path} not found")
            continue
        x, y, w, h = (float(record[k]) for k in ("bbox_x", "bbox_y", "bbox_w", "bbox_h"))
        group = (
            record["relation_name"] if kind == "relation" else f"{record['attributes'][0]}_{record['attributes'][1]}"
        )
        items.append(
            VgItem(index, image_path, (x, y, x + w, y + h), record["false_caption"], record["true_caption"], group)
        )
    return items


def _vg_record_problem(record: Any, kind: str) -> str | None:
    if not isinstance(record, dict):
        return f"malformed record, expected an object, got {type(record).__name__}"
    for key in ("image_path", "true_caption", "false_caption"):
        if not is_nonempty_str(record.get(key)):
            return f"malformed record, {key!r} must be a non-empty string"
    for key in ("bbox_x", "bbox_y", "bbox_w", "bbox_h"):
        if not _number(record.get(key)):
            return f"malformed record, {key!r} must be a number"
    if record["bbox_w"] <= 0 or record["bbox_h"] <= 0:
        return f"empty bounding box (bbox_w={record['bbox_w']}, bbox_h={record['bbox_h']})"
    if kind == "relation" and not is_nonempty_str(record.get("relation_name")):
        return "malformed record, 'relation_name' must be a non-empty string"
    if kind == "attribution":
        attributes = record.get("attributes")
        if not (
            isinstance(attributes, list) and len(attributes) >= 2 and all(isinstance(a, str) for a in attributes[:2])
        ):
            return "malformed record, 'attributes' must be a list of two strings"
    return None


def load_order(
    data_dir: str,
    dataset: str,
    shuffler: TextShuffler,
    image_dir: str | None = None,
    skip_log: SkipLog | None = None,
    max_words: int = ARO_ORDER_MAX_WORDS,
) -> list[OrderItem]:
    """Read a Karpathy test JSON (`dataset` = `"coco"` or `"flickr"`) and build the 5 options of every caption.

    Every caption is one test case, perturbed in file order (so the seeded shuffles match ARO's). Captions of a
    missing image are still perturbed before being skipped, so skipping never changes the other items' options.
    """
    if dataset not in ORDER_FILES:
        raise ValueError(f"dataset must be one of {sorted(ORDER_FILES)}, got {dataset!r}.")
    skip_log = skip_log if skip_log is not None else SkipLog()
    path = os.path.join(data_dir, ORDER_FILES[dataset])
    image_dir = image_dir or data_dir
    records = load_json(path)
    if not isinstance(records, list):
        raise BenchmarkDataError(
            f"{path}: expected a JSON list of {{'image', 'caption'}} records, got {type(records).__name__}."
        )
    items: list[OrderItem] = []
    for image_index, record in enumerate(records):
        where = f"{path}, row {image_index}"
        captions = record.get("caption") if isinstance(record, dict) else None
        if isinstance(captions, str):
            captions = [captions]  # BLIP's val/test files use lists; accept a bare string too
        if not (
            isinstance(record, dict)
            and is_nonempty_str(record.get("image"))
            and isinstance(captions, list)
            and captions
            and all(is_nonempty_str(c) for c in captions)
        ):
            skip_log.problem(f"{where}: malformed record, expected {{'image': str, 'caption': [non-empty str, ...]}}")
            continue
        options = [tuple(shuffler.caption_options(caption, max_words)) for caption in captions]
        image_path = os.path.join(image_dir, record["image"])
        if not os.path.isfile(image_path):
            for caption_index in range(len(captions)):
                skip_log.problem(f"{where}, caption {caption_index}: image {image_path} not found")
            continue
        items.extend(OrderItem(image_path, image_index, i, opts) for i, opts in enumerate(options))
    return items
