"""Reader for text-video retrieval CSVs with `video_id,sentence` columns (MSR-VTT 1k-A, LSMDC converted to it, ...).

MSR-VTT 1k-A ships `MSRVTT_JSFUSION_test.csv` (`key,vid_key,video_id,sentence`, one caption per video, from the
CLIP4Clip release); videos are `{video_id}.mp4`. Other columns are ignored. Several rows may share a `video_id`
(several captions per video): text->video then has one positive per caption and video->text several per video.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field

from .common import BenchmarkDataError, SkipLog, find_file
from .video_io import resolve_video_path

MSRVTT_CSV = "MSRVTT_JSFUSION_test.csv"
REQUIRED_COLUMNS = ("video_id", "sentence")


@dataclass
class RetrievalData:
    """Unique videos (in first-seen order) and every caption with the index of its video."""

    video_ids: list[str] = field(default_factory=list)
    video_paths: list[str] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)
    sentence_video_index: list[int] = field(default_factory=list)

    def video_positives(self) -> list[list[int]]:
        """For each video, the indices of its captions (the positives of video->text retrieval)."""
        positives: list[list[int]] = [[] for _ in self.video_ids]
        for sentence_index, video_index in enumerate(self.sentence_video_index):
            positives[video_index].append(sentence_index)
        return positives


def find_retrieval_csv(data_dir: str, csv_file: str | None = None) -> str:
    """`csv_file` (absolute, or relative to `data_dir`), else `MSRVTT_JSFUSION_test.csv` in `data_dir`."""
    if csv_file:
        path = csv_file if os.path.isabs(csv_file) or os.path.isfile(csv_file) else os.path.join(data_dir, csv_file)
        if not os.path.isfile(path):
            raise BenchmarkDataError(f"retrieval CSV {path} not found.")
        return path
    found = find_file(data_dir, (MSRVTT_CSV,))
    if found is None:
        raise BenchmarkDataError(
            f"{data_dir}: {MSRVTT_CSV} not found; pass --csv_file for another retrieval CSV "
            f"with columns {list(REQUIRED_COLUMNS)}."
        )
    return found


def load_retrieval_csv(csv_path: str, video_dir: str, skip_log: SkipLog | None = None) -> RetrievalData:
    """Read the CSV, resolve every video in `video_dir` (`{video_id}` with any known video extension, or a folder)."""
    skip_log = skip_log if skip_log is not None else SkipLog()
    if not os.path.isdir(video_dir):
        raise BenchmarkDataError(f"video folder {video_dir!r} does not exist.")
    data = RetrievalData()
    video_index: dict[str, int] = {}
    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing_columns = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing_columns:
            raise BenchmarkDataError(
                f"{csv_path}: header {reader.fieldnames} lacks column(s) {missing_columns}; "
                f"a retrieval CSV needs {list(REQUIRED_COLUMNS)}."
            )
        for row in reader:
            where = f"{csv_path}, line {reader.line_num}"
            video_id = (row.get("video_id") or "").strip()
            sentence = (row.get("sentence") or "").strip()
            if not video_id or not sentence or None in row:
                skip_log.problem(f"{where}: malformed row {row!r} (needs a non-empty video_id and sentence)")
                continue
            if video_id not in video_index:
                path = resolve_video_path(video_dir, video_id)
                if path is None:
                    skip_log.problem(f"{where}: video {video_id!r} not found in {video_dir}")
                    continue
                video_index[video_id] = len(data.video_ids)
                data.video_ids.append(video_id)
                data.video_paths.append(path)
            data.sentences.append(sentence)
            data.sentence_video_index.append(video_index[video_id])
    if not data.sentences:
        raise BenchmarkDataError(f"{csv_path}: no usable rows.")
    return data
