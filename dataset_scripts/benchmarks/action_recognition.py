"""Readers for zero-shot action recognition (UCF-101, HMDB-51, Kinetics-600 zero-shot) in the ViFi-CLIP/X-CLIP layout.

Files (`muzairkhattak/ViFi-CLIP`, looked up under `data_dir` at the repository path or directly in `data_dir`):

| dataset | split lists (`<video file> <label id>` per line) | class names (`id,name` CSV) |
|---|---|---|
| `ucf101` | `datasets_splits/ucf_splits/val{1,2,3}.txt` | `labels/ucf_101_labels.csv` (CamelCase names) |
| `hmdb51` | `datasets_splits/hmdb_splits/val{1,2,3}.txt` | `labels/hmdb_51_labels.csv` |
| `k600` | `datasets_splits/k600_splits/ZS_split{1,2,3}_K600_eval.txt` | `labels/ZS_split{1,2,3}_K600.csv` (160 classes each) |
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass

from .common import BenchmarkDataError, SkipLog, find_file

# The zero-shot prompt lists of the CLIP paper (openai/CLIP `data/prompts.md`, sections UCF101 and Kinetics700),
# generated in the file's order (including its "a example of").
_MEDIA = ("photo", "video", "example", "demonstration")
UCF101_TEMPLATES: tuple[str, ...] = tuple(
    f"a {medium} of {article} person {verb}{{}}."
    for verb in ("", "using ", "doing ", "during ", "performing ", "practicing ")
    for article in ("a", "the")
    for medium in _MEDIA
)
KINETICS_TEMPLATES: tuple[str, ...] = tuple(
    f"a {medium} of {subject}{{}}."
    for medium in _MEDIA
    for subject in (
        "",
        "a person ",
        "a person using ",
        "a person doing ",
        "a person during ",
        "a person performing ",
        "a person practicing ",
    )
)


@dataclass(frozen=True)
class ActionDatasetSpec:
    """Where one dataset's split and label files live; `{i}` is the split number."""

    split_file: str
    label_file: str
    camel_case: bool
    templates: tuple[str, ...]


ACTION_DATASETS: dict[str, ActionDatasetSpec] = {
    "ucf101": ActionDatasetSpec(
        "datasets_splits/ucf_splits/val{i}.txt", "labels/ucf_101_labels.csv", True, UCF101_TEMPLATES
    ),
    # CLIP has no HMDB list; its UCF101 list (person + action) is the usual stand-in.
    "hmdb51": ActionDatasetSpec(
        "datasets_splits/hmdb_splits/val{i}.txt", "labels/hmdb_51_labels.csv", False, UCF101_TEMPLATES
    ),
    "k600": ActionDatasetSpec(
        "datasets_splits/k600_splits/ZS_split{i}_K600_eval.txt",
        "labels/ZS_split{i}_K600.csv",
        False,
        KINETICS_TEMPLATES,
    ),
}


@dataclass(frozen=True)
class ActionSplit:
    """One evaluation split: its files, class names (index = label id) and `(video path, label)` items."""

    name: str
    split_file: str
    label_file: str
    class_names: tuple[str, ...]
    videos: tuple[tuple[str, int], ...]


def class_name_to_text(name: str, camel_case: bool = False) -> str:
    """Prompt text of a class: UCF's `ApplyEyeMakeup` -> `apply eye makeup`, HMDB's `brush_hair` -> `brush hair`."""
    text = name.replace("_", " ")
    if camel_case:
        text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
        text = text.lower()
    return re.sub(r"\s+", " ", text).strip()


def find_split_files(dataset: str, data_dir: str, splits: list[int] | None = None) -> list[tuple[str, str, str]]:
    """`(split name, split file, label file)` for each requested split present (default: any of 1, 2, 3)."""
    if dataset not in ACTION_DATASETS:
        raise BenchmarkDataError(f"unknown action-recognition dataset {dataset!r}; known: {sorted(ACTION_DATASETS)}.")
    spec = ACTION_DATASETS[dataset]
    found = []
    for i in splits or (1, 2, 3):
        split_rel, label_rel = spec.split_file.format(i=i), spec.label_file.format(i=i)
        split_path = find_file(data_dir, (split_rel, os.path.basename(split_rel)))
        if split_path is None:
            if splits:
                raise BenchmarkDataError(
                    f"{data_dir}: split {i} list not found (looked for {split_rel} and {os.path.basename(split_rel)})."
                )
            continue
        label_path = find_file(data_dir, (label_rel, os.path.basename(label_rel)))
        if label_path is None:
            raise BenchmarkDataError(
                f"{data_dir}: class-name file for split {i} not found (looked for {label_rel} and "
                f"{os.path.basename(label_rel)})."
            )
        found.append((f"split{i}", split_path, label_path))
    if not found:
        raise BenchmarkDataError(
            f"{data_dir}: no {dataset} split list found; expected e.g. "
            f"{spec.split_file.format(i=1)} (ViFi-CLIP layout) or its basename."
        )
    return found


def load_class_names(label_file: str) -> tuple[str, ...]:
    """Class names from an `id,name` CSV (header optional); ids must be exactly 0..C-1."""
    names: dict[int, str] = {}
    with open(label_file, newline="", encoding="utf-8") as handle:
        for line_number, row in enumerate(csv.reader(handle), start=1):
            if not row or not "".join(row).strip():
                continue
            if line_number == 1 and row[0].strip().lower() == "id":
                continue
            # Kinetics names contain commas only when quoted; join the rest in case a name was not quoted.
            if len(row) < 2 or not row[0].strip().lstrip("-").isdigit() or not ",".join(row[1:]).strip():
                raise BenchmarkDataError(
                    f"{label_file}, line {line_number}: malformed row {row!r}, expected 'id,name'."
                )
            class_id = int(row[0])
            if class_id in names:
                raise BenchmarkDataError(f"{label_file}, line {line_number}: duplicate class id {class_id}.")
            names[class_id] = ",".join(row[1:]).strip()
    if not names:
        raise BenchmarkDataError(f"{label_file}: no classes.")
    if sorted(names) != list(range(len(names))):
        missing = sorted(set(range(max(names) + 1)) - set(names))[:10]
        raise BenchmarkDataError(f"{label_file}: class ids must be 0..{len(names) - 1}; missing {missing}.")
    return tuple(names[i] for i in range(len(names)))


def load_split(
    name: str, split_file: str, label_file: str, video_dir: str, skip_log: SkipLog | None = None
) -> ActionSplit:
    """Read one split list; every label id must name a class and every video must exist in `video_dir`."""
    from .video_io import resolve_video_path

    skip_log = skip_log if skip_log is not None else SkipLog()
    class_names = load_class_names(label_file)
    videos = []
    with open(split_file, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{split_file}, line {line_number}"
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
                skip_log.problem(f"{where}: malformed line {line.strip()!r}, expected '<video file> <label id>'")
                continue
            label = int(parts[1])
            if not 0 <= label < len(class_names):
                skip_log.problem(f"{where}: unknown class id {label} ({label_file} has ids 0..{len(class_names) - 1})")
                continue
            path = resolve_video_path(video_dir, parts[0].strip())
            if path is None:
                skip_log.problem(f"{where}: video {parts[0].strip()!r} not found in {video_dir}")
                continue
            videos.append((path, label))
    return ActionSplit(name, split_file, label_file, class_names, tuple(videos))
