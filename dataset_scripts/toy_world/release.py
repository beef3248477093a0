"""Write toy-world clips as a VidSitu release, with the official file names and schema (data_formats.md §1).

Layout (the official `data/` folder of TheShadow29/VidSitu)::

    {root}/vidsitu_annotations/split_files/vseg_split_{train,valid,testvb,testsrl,testevrel}_lb.json
    {root}/vidsitu_annotations/vinfo_files/vinfo_{train,valid}_lb.json
    {root}/vidsitu_annotations/vseg_ann_files/vsann_{train,valid}_lb.json
    {root}/vidsitu_annotations/vseg_ann_files/vsann_{testsrl,testevrel}_noann_lb.json
    {root}/vsitu_video_trimmed_dir/{clip_id}.mp4        # 10 s, 30 fps, 300 frames (`prep_data/dwn_yt.py`)

- Split files: ``List[clip_id]``, ids ``v_{youtube_id}_seg_{start}_{end}``.
- ``vsann``: ``List[{Ev1..Ev5: {vid_uid, vid_seg_int, Verb, VerbID, Args, Arg_List, EvRel}}]`` — one annotation per
  clip in train, three annotator copies per clip in valid; ``Arg_List`` positions are strings; no ``EvRel`` on Ev3.
- ``vinfo``: the official per-clip keys; valid adds ``vb_to_use``, ``vb_lst`` (10 ``Verb`` strings per event) and
  ``vbid_lst`` (10 VerbIDs per event; most annotators give the true verb, a few a confusable one).
- The toy world has no leaderboard test sets: their split files exist and are empty, so tools that open every split
  file (such as the official downloader) work. The annotation files are written by the VidSitu builder's own writer.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from dataset_scripts.vidsitu.synthetic import write_release

from .grammar import CONFUSABLE_VERBS, VERBS, ClipSpec
from .text import vidsitu_event

ANNOTATIONS_DIRNAME = "vidsitu_annotations"
VIDEO_DIRNAME = "vsitu_video_trimmed_dir"
EVENT_NAMES = tuple(f"Ev{k}" for k in range(1, 6))
VALID_ANNOTATORS = 3
VERB_ANNOTATORS = 10
GENRES = ("Animation", "Family", "Comedy", "Adventure")


def vid_uid(clip: ClipSpec) -> str:
    """VidSitu's opaque video uid (the real ones look like ``"M3u94uEBq9o5"``: YouTube id + a digit)."""
    return f"{clip.youtube_id}{clip.start // 10}"


def video_path(root: str, clip_id: str) -> str:
    return os.path.join(root, VIDEO_DIRNAME, f"{clip_id}.mp4")


def annotation(clip: ClipSpec) -> dict:
    """One annotator's annotation of a clip: ``{Ev1..Ev5: event}``."""
    uid = vid_uid(clip)
    return {name: vidsitu_event(clip, index, uid) for index, name in enumerate(EVENT_NAMES)}


def _clip_rng(clip: ClipSpec, purpose: int) -> np.random.Generator:
    """Per-clip metadata randomness that does not depend on generation order."""
    return np.random.default_rng([int.from_bytes(clip.clip_id.encode()[-8:], "little") % (2**32), purpose])


def verb_annotations(clip: ClipSpec) -> tuple[dict, dict, dict]:
    """``vb_to_use``, ``vb_lst`` and ``vbid_lst`` of a valid clip (10 verb annotations per event)."""
    rng = _clip_rng(clip, 1)
    vb_to_use, vb_lst, vbid_lst = {}, {}, {}
    for name, event in zip(EVENT_NAMES, clip.events):
        verb_ids = [event.verb_id] * VERB_ANNOTATORS
        for slot in rng.choice(VERB_ANNOTATORS, size=int(rng.choice(3, p=[0.5, 0.35, 0.15])), replace=False):
            alternatives = CONFUSABLE_VERBS[event.verb_id]
            verb_ids[int(slot)] = alternatives[int(rng.integers(len(alternatives)))]
        vb_to_use[name] = event.verb.verb_string
        vbid_lst[name] = verb_ids
        vb_lst[name] = [VERBS[verb_id].verb_string for verb_id in verb_ids]
    return vb_to_use, vb_lst, vbid_lst


def vinfo_record(clip: ClipSpec, split: str) -> dict:
    """The clip's ``vinfo_{split}_lb.json`` record with the official keys."""
    rng = _clip_rng(clip, 0)
    year = int(rng.integers(1990, 2020))
    movie = f"Toy World {int(rng.integers(1, 400))}"
    record = {
        "vid_uid": vid_uid(clip),
        "genres": [GENRES[int(i)] for i in sorted(rng.choice(len(GENRES), size=2, replace=False))],
        "duration": float(clip.start + 10 + int(rng.integers(10, 200))),
        "name": clip.youtube_id,
        "text": f"{movie} ({year}) - a {clip.scene} scene with a {clip.cast[0].noun_phrase} and a "
                f"{clip.cast[1].noun_phrase}",
        "start": clip.start,
        "end": clip.start + 10,
        "vid_seg_int": clip.clip_id,
        "movie_name": movie,
        "upload_year": year + int(rng.integers(0, 5)),
        "clip_name": f"{movie} - {clip.scene} scene",
        "imdb_id": f"tt{int(rng.integers(10**6, 10**7)):07d}",
        "year_rel": year,
    }
    if split == "valid":
        record["vb_to_use"], record["vb_lst"], record["vbid_lst"] = verb_annotations(clip)
    return record


def write_annotation_files(root: str, train: Sequence[ClipSpec], valid: Sequence[ClipSpec]) -> None:
    """Write every official annotation file under ``{root}/vidsitu_annotations/`` with the VidSitu builder's own
    writer (`dataset_scripts.vidsitu.synthetic.write_release`), so both agree on names and layout.

    Videos are written separately (in parallel) by `world.build_world` into ``{root}/vsitu_video_trimmed_dir/``.
    """
    write_release(
        root,
        split_ids={"train": [clip.clip_id for clip in train], "valid": [clip.clip_id for clip in valid]},
        annotations={"train": [annotation(clip) for clip in train],
                     "valid": [annotation(clip) for clip in valid for _ in range(VALID_ANNOTATORS)]},
        vinfo={"train": [vinfo_record(clip, "train") for clip in train],
               "valid": [vinfo_record(clip, "valid") for clip in valid]},
        video=None,
    )
