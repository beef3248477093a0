"""Write a VidSitu-format release: the official annotation files (names and schema) plus mp4 clips / frame folders.

Two levels:

- `write_release` writes whatever annotation records and frames the caller provides, in the official layout. A
  procedural "toy world" can pass its own records and its own ``frames_fn`` renderer.
- `write_synthetic_release` generates a release of any size from a seed (`make_synthetic_annotations`): a small
  PropBank-style verb vocabulary whose role keys include VidSitu's real messy strings (``"Arg0 (agent, hitter -
  animate only!)"``, ``"pull ((try to) cause motion)"``, double spaces, modifier keys with longer descriptions such as
``"ArgM (direction (toward or away, e.g. up!))"``, ``"-"`` for an empty slot), co-referenced entities, modifiers, scenes,
  event relations, 3 SRL annotators and 10 verb annotations per valid event, and coloured frames (the background
  colour encodes the event's verb, a centre square its first argument).

Layout written under ``out_dir``::

    vidsitu_annotations/split_files/vseg_split_{train,valid,testvb,testsrl,testevrel}_lb.json
    vidsitu_annotations/vinfo_files/vinfo_{train,valid}_lb.json
    vidsitu_annotations/vseg_ann_files/vsann_{train,valid}_lb.json, vsann_{testsrl,testevrel}_noann_lb.json
    videos/{clip_id}.mp4                               (video="mp4" or "both")
    frames/{clip_id}/{clip_id}_000001.jpg …            (video="frames" or "both"; 1-indexed)

The content of the ``*_noann`` files is not documented upstream and our reader does not use them; they are written
as lists of ``{"vid_seg_int": clip_id}`` placeholders so that the layout is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .frames import FRAMES_FPS, frame_path, video_path
from .schema import (
    ANNOTATIONS_DIRNAME,
    CLIP_SECONDS,
    EVENT_NAMES,
    EVENT_SECONDS,
    EVREL_VALUES,
    REFERENCE_EVENT,
    SCENE_KEY,
    SPLITS,
    TEST_SPLITS,
    TRAIN,
    VALID,
    split_file,
    vinfo_file,
    vsann_file,
)

#: ``frames_fn(clip_id, annotation, num_frames, fps, size) -> uint8 array (num_frames, H, W, 3)``.
#: ``annotation`` is the clip's first raw SRL annotation (``{"Ev1": {…}, …}``), or None for test-split clips.
FramesFn = Callable[[str, Mapping[str, Any] | None, int, int, tuple[int, int]], np.ndarray]

# (VerbID, raw Verb string, raw numbered-argument keys). The first eight strings are VidSitu's own (data_formats.md
# §1.4), messy parts included; the rest are PropBank-style frames in the same format.
SYNTHETIC_VERBS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("dive.02", "dive (to drop)", ("Arg1 (thing falling)",)),
    ("talk.01", "talk (speak)", ("Arg0 (talker)", "Arg2 (hearer)")),
    ("flip.01", "flip (throw, turn over)", ("Arg0 (flipper, agent)", "Arg1 (thing flipped)")),
    ("breathe.01", "breathe (suck air)", ("Arg0 (breather)", "Arg1 (air, we hope)")),
    (
        "strike.01",
        "strike (hit)",
        ("Arg0 (agent, hitter - animate only!)", "Arg1 (thing hit)", "Arg2 (instrument, thing hit by or with)"),
    ),
    (
        "pull.01",
        "pull ((try to) cause motion)",
        ("Arg0 (puller)", "Arg1 (thing pulled)", "Arg2 (DIR or attribute of arg1)"),
    ),
    (
        "choke.01",
        "choke (to have or cause to have  difficulty in breathing)",
        ("Arg0 (choker)", "Arg1 (entity choking)"),
    ),
    ("walk.01", "walk (go)", ("Arg0 (walker)", "Arg1 (path)")),
    ("jog.01", "jog (run slowly)", ("Arg0 (jogger)", "Arg1 (path)")),
    ("run.02", "run (move quickly on foot)", ("Arg0 (runner)", "Arg1 (course, race, distance)")),
    ("look.01", "look (vision)", ("Arg0 (looker)", "Arg1 (thing looked at)")),
    ("stare.01", "stare (look intently)", ("Arg0 (starer)", "Arg1 (thing stared at)")),
    ("speak.01", "speak (talk)", ("Arg0 (speaker, agent)", "Arg2 (listener)")),
    ("push.01", "push (apply force)", ("Arg0 (pusher)", "Arg1 (thing pushed)", "Arg2 (direction)")),
    ("hold.01", "hold (grasp)", ("Arg0 (holder)", "Arg1 (thing held)")),
    ("throw.01", "throw (propel)", ("Arg0 (thrower)", "Arg1 (thing thrown)", "Arg2 (thrown at, to, over)")),
    ("open.01", "open (cause to be open)", ("Arg0 (opener)", "Arg1 (thing opening)")),
    ("drive.01", "drive (operate a vehicle)", ("Arg0 (driver)", "Arg1 (vehicle)")),
    ("hit.01", "hit (strike)", ("Arg0 (hitter)", "Arg1 (thing hit)", "Arg2 (instrument)")),
    ("turn.01", "turn (move around an axis)", ("Arg0 (turner)", "Arg1 (thing turning)")),
    ("sit.01", "sit (be seated)", ("Arg1 (thing sitting)", "Arg2 (seat)")),
    ("fall.01", "fall (move downward)", ("Arg1 (thing falling)",)),
    ("grab.01", "grab (take hold of)", ("Arg0 (grabber)", "Arg1 (thing grabbed)")),
    ("kiss.01", "kiss (touch with the lips)", ("Arg0 (kisser)", "Arg1 (kissed)")),
)
SYNTHETIC_ENTITIES = (
    "man with short hair wearing collared shirt",
    "brunette girl",
    "brunette boy",
    "man in wetsuit",
    "woman in red dress",
    "old man with  beard",  # double space, as annotators type them
    "the man with brown hair's leg",
    "police officer",
    "little dog",
    "soldier in helmet",
    "blonde woman",
    "man in black suit",
)
SYNTHETIC_OBJECTS = ("door", "gun", "glass of water", "car", "rope", "on the handly", "bag", "phone", "ball", "chair")
SYNTHETIC_MODIFIERS = {
    "ArgM (direction)": ("forward", "downward", "away", "toward the door", "up"),
    "ArgM (manner)": ("slowly", "casually", "angrily", "quickly", "carefully"),
    "ArgM (location)": ("lake", "in a home", "on the street", "in the car"),
    "ArgM (purpose)": ("to escape", "to get attention", "to help"),
    "ArgM (goal)": ("to the car", "towards the house", "to the boy"),
}
#: Longer modifier keys as they occur in the real annotations (VidSitu's ``arg_mapper`` maps them by substring).
SYNTHETIC_LONG_MODIFIER_KEYS = {
    "ArgM (direction)": "ArgM (direction (toward or away, e.g. up!))",
    "ArgM (manner)": "ArgM  (manner, how)",
    "ArgM (location)": "ArgM (location (where, in what place))",
    "ArgM (purpose)": "ArgM (purpose, reason)",
    "ArgM (goal)": "ArgM (goal (destination))",
}
#: How annotators mark a role they left empty (treated as an absent role, never a prompt's "is -").
SYNTHETIC_EMPTY_VALUES = ("-", "-", " - ", "")
SYNTHETIC_SCENES = ("apartment", "lake", "street", "office", "forest", "bar", "kitchen", "beach")
SYNTHETIC_GENRES = ("Action", "Comedy", "Drama", "Horror", "Romance")
_YT_ALPHABET = string.ascii_letters + string.digits + "-_"


@dataclass
class SyntheticRelease:
    """Where `write_release` put things."""

    root: str
    annotations_dir: str
    video_dir: str | None
    frames_dir: str | None
    #: split name -> clip ids, as written in the split files
    split_ids: dict


# ---------------------------------------------------------------------------------------------------------------------
# Low level: files in the official layout
# ---------------------------------------------------------------------------------------------------------------------
def write_release(
    out_dir: str,
    *,
    split_ids: Mapping[str, Sequence[str]],
    annotations: Mapping[str, Sequence[Mapping]],
    vinfo: Mapping[str, Sequence[Mapping]],
    video: str | None = None,
    frames_fn: FramesFn | None = None,
    size: tuple[int, int] = (64, 64),
    fps: int = FRAMES_FPS,
    clip_seconds: float = CLIP_SECONDS,
    video_clip_ids: Sequence[str] | None = None,
    codec: str = "libx264",
    codec_options: Mapping[str, str] | None = None,
) -> SyntheticRelease:
    """Write annotation files (official names and schema) and, optionally, videos.

    Args:
        out_dir: root of the release (``vidsitu_annotations/``, ``videos/`` and ``frames/`` go under it).
        split_ids: split name (``train``, ``valid``, ``testvb``, ``testsrl``, ``testevrel``) -> clip ids. Splits
            not given are written as empty lists, so that the layout is complete.
        annotations: ``train``/``valid`` -> raw SRL annotations, each ``{"Ev1": {…}, …, "Ev5": {…}}`` (one per
            annotator and clip), written verbatim to ``vsann_{split}_lb.json``.
        vinfo: ``train``/``valid`` -> raw vinfo records, written verbatim to ``vinfo_{split}_lb.json``.
        video: None, ``"mp4"`` (``videos/{clip_id}.mp4``), ``"frames"`` (``frames/{clip_id}/{clip_id}_%06d.jpg``) or
            ``"both"``.
        frames_fn: renders a clip (see `FramesFn`); default `default_frames_fn`.
        size: ``(H, W)`` of the frames (even numbers, as H.264's yuv420p needs).
        fps: frame rate of the mp4s; frame folders are always written at 30 fps like the official extraction, so
            they are rendered at 30 fps.
        clip_seconds: clip length (10 s in VidSitu; shorter makes "short video" test data).
        video_clip_ids: clips that get a video (default: every clip of every split file).
        codec: mp4 video codec (``libx264`` as VidSitu's ffmpeg trimming produces; ``mpeg4`` as a fallback).
        codec_options: encoder options (see `write_mp4`).
    """
    if video not in (None, "mp4", "frames", "both"):
        raise ValueError(f"video must be None, 'mp4', 'frames' or 'both', got {video!r}")
    ann_dir = os.path.join(out_dir, ANNOTATIONS_DIRNAME)
    split_ids = {split: list(split_ids.get(split, [])) for split in SPLITS}
    for split in SPLITS:
        _dump(os.path.join(ann_dir, split_file(split)), split_ids[split])
    for split in (TRAIN, VALID):
        _dump(os.path.join(ann_dir, vsann_file(split)), list(annotations.get(split, [])))
        _dump(os.path.join(ann_dir, vinfo_file(split)), list(vinfo.get(split, [])))
    for split in ("testsrl", "testevrel"):
        _dump(os.path.join(ann_dir, vsann_file(split)), [{"vid_seg_int": clip_id} for clip_id in split_ids[split]])

    video_dir = os.path.join(out_dir, "videos") if video in ("mp4", "both") else None
    frames_dir = os.path.join(out_dir, "frames") if video in ("frames", "both") else None
    if video is not None:
        frames_fn = frames_fn or default_frames_fn
        first_annotation: dict[str, Mapping] = {}
        for split in (TRAIN, VALID):
            for annotation in annotations.get(split, []):
                clip_id = _clip_id_of(annotation)
                if clip_id is not None:
                    first_annotation.setdefault(clip_id, annotation)
        clip_ids = video_clip_ids if video_clip_ids is not None else [c for split in SPLITS for c in split_ids[split]]
        for clip_id in dict.fromkeys(clip_ids):  # unique, in order
            annotation = first_annotation.get(clip_id)
            if video_dir is not None:
                count = int(round(clip_seconds * fps))
                write_mp4(
                    video_path(video_dir, clip_id),
                    frames_fn(clip_id, annotation, count, fps, size),
                    fps,
                    codec,
                    codec_options,
                )
            if frames_dir is not None:
                count = int(round(clip_seconds * FRAMES_FPS))
                write_frame_folder(frames_dir, clip_id, frames_fn(clip_id, annotation, count, FRAMES_FPS, size))
    return SyntheticRelease(out_dir, ann_dir, video_dir, frames_dir, split_ids)


def _dump(path: str, data: Any) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False)


def _clip_id_of(annotation: Mapping) -> str | None:
    for name in EVENT_NAMES:
        event = annotation.get(name)
        if isinstance(event, Mapping) and "vid_seg_int" in event:
            return event["vid_seg_int"]
    return annotation.get("vid_seg_int") if isinstance(annotation, Mapping) else None


def write_mp4(
    path: str,
    frames: np.ndarray,
    fps: int = FRAMES_FPS,
    codec: str = "libx264",
    codec_options: Mapping[str, str] | None = None,
) -> None:
    """Encode uint8 frames ``(T, H, W, 3)`` as an mp4 with PyAV.

    The default options favour speed and fidelity (tests decode colours back): x264 ``ultrafast``, ``crf 12``, no
    B-frames. ``codec_options={"preset": "medium", "crf": "23"}`` is what VidSitu's own ``ffmpeg`` trimming produces.
    """
    import av

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    frames = np.asarray(frames, dtype=np.uint8)
    if codec not in av.codecs_available:
        codec = "mpeg4"
    with av.open(path, mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        if codec_options is not None:
            stream.options = dict(codec_options)
        elif codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "12"}
        else:
            stream.options = {"qscale": "2"}
        for index, array in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_frame_folder(frames_dir: str, clip_id: str, frames: np.ndarray, quality: int = 95) -> None:
    """Write ``frames_dir/{clip_id}/{clip_id}_%06d.jpg`` (1-indexed), as ``ffmpeg -r 30 -q:v 1`` does."""
    from PIL import Image

    os.makedirs(os.path.join(frames_dir, clip_id), exist_ok=True)
    for index, array in enumerate(np.asarray(frames, dtype=np.uint8)):
        Image.fromarray(array).save(frame_path(frames_dir, clip_id, index + 1), quality=quality)


def _colour(text: str) -> np.ndarray:
    """A stable, saturated-enough RGB colour for a string."""
    digest = hashlib.blake2b(text.encode(), digest_size=3).digest()
    return np.array([48 + byte * 160 // 255 for byte in digest], dtype=np.uint8)


def default_frames_fn(
    clip_id: str, annotation: Mapping | None, num_frames: int, fps: int, size: tuple[int, int]
) -> np.ndarray:
    """Coloured frames: background = colour of the event's VerbID, centre square = colour of its first role value,
    plus a white bar that moves across the frame during each 2 s event (so frames differ within an event)."""
    height, width = size
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    event_images = []
    for name in EVENT_NAMES:
        event = annotation.get(name) if annotation is not None else None
        image = np.empty((height, width, 3), dtype=np.uint8)
        if isinstance(event, Mapping) and isinstance(event.get("Args"), Mapping):
            image[:] = _colour(str(event.get("VerbID")))
            values = [event["Args"][key] for key in sorted(event["Args"], key=lambda k: int(event["Arg_List"][k]))]
            square = _colour(str(values[0])) if values else image[0, 0]
        else:
            image[:] = _colour(f"{clip_id}/{name}")
            square = _colour(clip_id)
        image[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4] = square
        event_images.append(image)
    bar = max(1, width // 16)
    for index in range(num_frames):
        time = index / fps
        event = min(int(time // EVENT_SECONDS), len(EVENT_NAMES) - 1)
        frames[index] = event_images[event]
        x = int((time - event * EVENT_SECONDS) / EVENT_SECONDS * (width - bar))
        frames[index, : max(1, height // 8), x : x + bar] = 255
    return frames


# ---------------------------------------------------------------------------------------------------------------------
# High level: a synthetic release from a seed
# ---------------------------------------------------------------------------------------------------------------------
def make_synthetic_annotations(
    num_train: int = 8,
    num_valid: int = 4,
    num_test: int = 2,
    seed: int = 0,
    valid_annotators: int = 3,
    verbs: Sequence[tuple[str, str, Sequence[str]]] = SYNTHETIC_VERBS,
) -> dict:
    """Generate raw records in the official schema.

    Returns:
        ``{"split_ids": {split: [clip ids]}, "annotations": {"train"|"valid": [raw annotations]},
        "vinfo": {"train"|"valid": [raw vinfo records]}}`` — the keyword arguments of `write_release`, so that a test
        can corrupt a record before writing.
    """
    rng = random.Random(seed)
    counts = {TRAIN: num_train, VALID: num_valid, **{split: num_test for split in TEST_SPLITS}}
    used: set = set()
    split_ids = {split: [_new_clip_id(rng, used) for _ in range(count)] for split, count in counts.items()}
    annotations = {TRAIN: [], VALID: []}
    vinfo = {TRAIN: [], VALID: []}
    for split in (TRAIN, VALID):
        for clip_id in split_ids[split]:
            uid = clip_id[2 : -len(clip_id.rsplit("_seg_", 1)[1]) - 5] + str(rng.randrange(10))
            plan = _plan_clip(rng, verbs)
            copies = valid_annotators if split == VALID else 1
            for annotator in range(copies):
                annotations[split].append(_render_annotation(rng, clip_id, uid, plan, varied=annotator > 0))
            vinfo[split].append(_vinfo_record(rng, clip_id, uid, plan, verbs, with_verbs=split == VALID))
    return {"split_ids": split_ids, "annotations": annotations, "vinfo": vinfo}


def write_synthetic_release(
    out_dir: str,
    num_train: int = 8,
    num_valid: int = 4,
    num_test: int = 2,
    seed: int = 0,
    video: str | None = None,
    size: tuple[int, int] = (64, 64),
    fps: int = FRAMES_FPS,
    clip_seconds: float = CLIP_SECONDS,
    frames_fn: FramesFn | None = None,
    valid_annotators: int = 3,
    codec: str = "libx264",
    codec_options: Mapping[str, str] | None = None,
) -> SyntheticRelease:
    """Write a synthetic VidSitu-format release of any size, deterministically from ``seed``.

    See `make_synthetic_annotations` for the records and `write_release` for the files and the video options.
    ``num_test`` clips are written to each of the three test split files.
    """
    records = make_synthetic_annotations(num_train, num_valid, num_test, seed, valid_annotators)
    return write_release(
        out_dir,
        **records,
        video=video,
        frames_fn=frames_fn,
        size=size,
        fps=fps,
        clip_seconds=clip_seconds,
        codec=codec,
        codec_options=codec_options,
    )


def _new_clip_id(rng: random.Random, used: set) -> str:
    while True:
        youtube_id = "".join(rng.choice(_YT_ALPHABET) for _ in range(11))
        start = 10 * rng.randrange(0, 30)
        clip_id = f"v_{youtube_id}_seg_{start}_{start + 10}"  # YouTube ids may contain "_": parse with rsplit
        if clip_id not in used:
            used.add(clip_id)
            return clip_id


def _plan_clip(rng: random.Random, verbs: Sequence) -> list[dict]:
    """Per event: verb, its chosen numbered args with values, modifiers, scene, EvRel. Entities recur across events
    (VidSitu's implicit co-reference)."""
    cast = rng.sample(SYNTHETIC_ENTITIES, 3)
    scene = rng.choice(SYNTHETIC_SCENES)
    plan = []
    for name in EVENT_NAMES:
        verb_id, verb, arg_keys = rng.choice(verbs)
        args = []
        for position, key in enumerate(arg_keys):
            if position == 0 or rng.random() < 0.6:
                pool = cast if key.startswith(("Arg0", "Arg2")) or position == 0 else SYNTHETIC_OBJECTS
                args.append((key, rng.choice(pool)))
        modifiers = rng.sample(sorted(SYNTHETIC_MODIFIERS), rng.randrange(0, 3))
        for key in sorted(modifiers):
            written = SYNTHETIC_LONG_MODIFIER_KEYS[key] if rng.random() < 0.3 else key
            args.append((written, rng.choice(SYNTHETIC_MODIFIERS[key])))
        if "ArgM (location)" not in modifiers:  # the UI appends the scene unless there is a location role
            args.append((SCENE_KEY, scene))
        if len(args) > 1 and rng.random() < 0.1:  # about one event in ten has an empty slot, as in the real valid split
            position = rng.randrange(1, len(args))
            args[position] = (args[position][0], rng.choice(SYNTHETIC_EMPTY_VALUES))
        evrel = None if name == REFERENCE_EVENT else rng.choice(EVREL_VALUES)
        plan.append({"verb_id": verb_id, "verb": verb, "args": args, "evrel": evrel})
    return plan


def _render_annotation(rng: random.Random, clip_id: str, uid: str, plan: list[dict], varied: bool) -> dict:
    annotation = {}
    for name, event in zip(EVENT_NAMES, plan):
        args = list(event["args"])
        if varied and rng.random() < 0.5:  # other annotators describe the same entities a bit differently
            index = rng.randrange(len(args))
            key, value = args[index]
            args[index] = (key, rng.choice(SYNTHETIC_ENTITIES) if key.startswith("Arg") else value)
        # Args insertion order deliberately differs from Arg_List order: readers must sort by Arg_List.
        shuffled = args[:]
        rng.shuffle(shuffled)
        record = {
            "vid_uid": uid,
            "vid_seg_int": clip_id,
            "Args": {key: value for key, value in shuffled},
            "Arg_List": {key: str(position) for position, (key, _) in enumerate(args)},
            "Verb": event["verb"],
            "VerbID": event["verb_id"],
        }
        if event["evrel"] is not None:
            record["EvRel"] = event["evrel"]
        annotation[name] = record
    return annotation


def _vinfo_record(
    rng: random.Random, clip_id: str, uid: str, plan: list[dict], verbs: Sequence, with_verbs: bool
) -> dict:
    youtube_id, segment = clip_id[2:].rsplit("_seg_", 1)
    start, end = (int(part) for part in segment.split("_"))
    record = {
        "vid_uid": uid,
        "genres": rng.sample(SYNTHETIC_GENRES, 2),
        "duration": float(end + rng.randrange(30, 600)),
        "name": youtube_id,
        "text": "Synthetic movie clip.",
        "start": start,
        "end": end,
        "vid_seg_int": clip_id,
        "movie_name": f"Synthetic Movie {rng.randrange(1000)}",
        "upload_year": 2015,
        "clip_name": f"Scene {rng.randrange(100)}",
        "imdb_id": f"tt{rng.randrange(10**7):07d}",
        "year_rel": 2010,
    }
    if with_verbs:
        names_by_id = {verb_id: verb for verb_id, verb, _ in verbs}
        record["vb_to_use"] = {name: event["verb"] for name, event in zip(EVENT_NAMES, plan)}
        vbid_lst = {}
        for name, event in zip(EVENT_NAMES, plan):
            # ~10 annotators: mostly the annotated verb, some disagreement, as in the real valid set.
            vbid_lst[name] = [event["verb_id"] if rng.random() < 0.7 else rng.choice(verbs)[0] for _ in range(10)]
        record["vbid_lst"] = vbid_lst
        record["vb_lst"] = {name: [names_by_id.get(v, v) for v in ids] for name, ids in vbid_lst.items()}
    return record
