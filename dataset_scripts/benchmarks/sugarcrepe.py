"""Reader for SugarCrepe (RAIVNLab/sugar-crepe): `data/{subset}.json` + the COCO-2017 val images.

Each file is a dict keyed by a string index (keys can be non-contiguous: iterate keys, never `range(len)`), each record
`{"filename": "000000085329.jpg", "caption": ..., "negative_caption": ...}`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from .common import BenchmarkDataError, SkipLog, is_nonempty_str, load_json

SUGARCREPE_SUBSETS: tuple[str, ...] = (
    "add_att",
    "add_obj",
    "replace_att",
    "replace_obj",
    "replace_rel",
    "swap_att",
    "swap_obj",
)


@dataclass(frozen=True)
class CaptionPairItem:
    """One SugarCrepe test case: an image with its positive and negative caption."""

    subset: str
    key: str
    image_path: str
    caption: str
    negative_caption: str


def available_subsets(data_dir: str) -> list[str]:
    """The official subset files present in `data_dir`, in the official order."""
    return [s for s in SUGARCREPE_SUBSETS if os.path.isfile(os.path.join(data_dir, f"{s}.json"))]


def load_sugarcrepe(
    data_dir: str, image_dir: str, subsets: Sequence[str] | None = None, skip_log: SkipLog | None = None
) -> list[CaptionPairItem]:
    """Read the SugarCrepe subsets in `data_dir` and check every image exists in `image_dir`.

    Args:
        data_dir: folder with any of `{add_att,add_obj,replace_att,replace_obj,replace_rel,swap_att,swap_obj}.json`.
        image_dir: the COCO `val2017/` folder.
        subsets: restrict to these subsets (each must be present); default: every subset file found.
        skip_log: where malformed records and missing images go; default raises on the first one.
    """
    skip_log = skip_log if skip_log is not None else SkipLog()
    if subsets:
        unknown = [s for s in subsets if s not in SUGARCREPE_SUBSETS]
        if unknown:
            raise BenchmarkDataError(
                f"Unknown SugarCrepe subset(s) {unknown}; the official ones are {list(SUGARCREPE_SUBSETS)}."
            )
        missing = [s for s in subsets if not os.path.isfile(os.path.join(data_dir, f"{s}.json"))]
        if missing:
            raise BenchmarkDataError(
                f"{data_dir}: requested SugarCrepe subset file(s) not found: {[f'{s}.json' for s in missing]}."
            )
        chosen = list(subsets)
    else:
        chosen = available_subsets(data_dir)
        if not chosen:
            raise BenchmarkDataError(
                f"{data_dir}: no SugarCrepe file found; expected any of {[f'{s}.json' for s in SUGARCREPE_SUBSETS]}."
            )
    if not os.path.isdir(image_dir):
        raise BenchmarkDataError(f"SugarCrepe image folder {image_dir!r} does not exist (COCO-2017 val2017/).")

    items: list[CaptionPairItem] = []
    for subset in chosen:
        path = os.path.join(data_dir, f"{subset}.json")
        records = load_json(path)
        if not isinstance(records, dict):
            raise BenchmarkDataError(f"{path}: expected a JSON object keyed by index, got {type(records).__name__}.")
        for key, record in records.items():
            where = f"{path}, key {key!r}"
            if not isinstance(record, dict) or not all(
                is_nonempty_str(record.get(field)) for field in ("filename", "caption", "negative_caption")
            ):
                skip_log.problem(
                    f"{where}: malformed record, expected non-empty strings 'filename', 'caption', "
                    f"'negative_caption', got {record!r}"
                )
                continue
            image_path = os.path.join(image_dir, record["filename"])
            if not os.path.isfile(image_path):
                skip_log.problem(f"{where}: image {image_path} not found")
                continue
            items.append(CaptionPairItem(subset, str(key), image_path, record["caption"], record["negative_caption"]))
    return items
