"""Benchmarks from held-out toy-world clips, written in the official ARO / SugarCrepe / MSR-VTT formats.

Every image item uses ONE frame of an event — local frame `BENCHMARK_FRAME` (1.5 s into the 2 s event, so the motion
trails are complete) — saved losslessly as ``images/{clip:04d}_ev{k}.png``. Every distinction below is visible in that
single frame (trails, heading, contact, rope, ghost rings; see `render`). Layout under ``benchmarks/``::

    role_swap/            visual_genome_relation.json   + images/   ARO VG-Relation format, SRL-prompt phrasing
    role_swap_natural/    visual_genome_relation.json   + images/   ARO VG-Relation format, natural phrasing
    attribute_swap/       visual_genome_attribution.json + images/  ARO VG-Attribution format
    verb_replace/         replace_rel.json               + images/  SugarCrepe format, SRL-prompt phrasing
    verb_replace_natural/ replace_rel.json               + images/  SugarCrepe format, natural phrasing
    order/                coco_karpathy_test.json        + images/  ARO COCO-Order input (Karpathy format)
                          caption_options.json                      the 5 options per caption, precomputed
    web_retrieval/        MSRVTT_JSFUSION_test.csv       + videos/  MSR-VTT 1k-A format, web-style captions
    clips.json                                                      ground truth of every benchmark clip
    benchmarks.json                                                 what each folder measures, item counts, chance

Formats (exact):

- **role_swap(_natural)**: ``[{"image_id", "image_path", "bbox_x": 0, "bbox_y": 0, "bbox_w": 64, "bbox_h": 64,
  "relation_name", "true_caption", "false_caption", ...}]``; one item per *transitive* event. ``false_caption`` swaps
  the fillers of the two roles: SRL ``"… the chaser is big red circle, the thing chased is small blue square …"`` vs
  ``"… the chaser is small blue square, the thing chased is big red circle …"``; natural ``"the big red circle chases
  the small blue square in the park"`` vs ``"the small blue square chases the big red circle in the park"``.
  ``relation_name`` is the -ing form (``"chasing"``; none is in ARO's excluded list). The bbox is the whole frame.
  Chance: 50 %.
- **attribute_swap**: VG-Attribution records with ``"attributes": [a1, a2]``: ``"the big red circle and the small
  blue square"`` vs the colours (or sizes) swapped. Every event gives a colour item; events whose cast differs in size
  (except grow/shrink, where size is in flux) also give a size item. The two objects are named in the order that
  sorts ``attributes`` alphabetically, so ARO's per-pair keys (``"blue_red"``, ``"big_small"``) each collect well
  over ARO's minimum of 25 items. Chance: 50 %.
- **verb_replace(_natural)**: ``{"0": {"filename", "caption", "negative_caption"}, ...}`` (SugarCrepe's
  ``replace_rel``), one item per event: the verb is replaced by another verb with the same numbered arguments
  (transitive ↔ transitive; move/jump/spin among themselves; grow ↔ shrink), so every negative is also one the
  VidSitu builder could draw as a training negative (its rule N1). The SRL variant swaps verb **and** role names and keeps modifiers and scene
  (the paper's verb-role swap, §5): ``"… action is chase where, the chaser is …"`` → ``"… action is push where, the
  pusher is …"``; the natural one ``"the big red circle chases …"`` → ``"the big red circle pushes …"``. Chance: 50 %.
- **order**: ``coco_karpathy_test.json`` = ``[{"image": "images/….png", "caption": [natural caption with manner and
  direction]}]``. spaCy is not needed: `text.pos_tagger` gives the Penn tags of every world word, so
  `TextShuffler(pos_tagger, seed=1)` (evaluation option ``--pos_tagger
  dataset_scripts.toy_world.text:world_pos_tagger``) builds ARO's 4 perturbations; they are also precomputed in ``caption_options.json`` = ``[{"image": …, "caption_options": [original, shuffle_nouns_and_adj,
  shuffle_allbut_nouns_and_adj, shuffle_within_trigrams, shuffle_trigrams]}]`` (correct = option 0). Chance: 20 %.
- **web_retrieval**: ``MSRVTT_JSFUSION_test.csv`` with header ``key,vid_key,video_id,sentence`` (``ret{i},msr{i},
  video{i},<web-style caption of the whole clip>``), one caption per video, and ``videos/video{i}.mp4`` (the full
  10 s clip). Chance R@1: 1/number of videos.

Which phrasing is the headline: ``role_swap`` and ``verb_replace`` use the SRL-prompt phrasing (the issue's own
example, "the chaser is red circle, the thing chased is blue square"); the ``*_natural`` folders are the same items
in ARO/SugarCrepe's natural phrasing. Both models read captions with the same frozen text encoder, so either phrasing
compares their image encoders; the natural one additionally asks whether what FiGCLIP learnt from SRL prompts
transfers to plain sentences (as the paper's ARO/SugarCrepe evaluation does).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence

import numpy as np

from .grammar import SIZE_CHANGING_VERBS, VERBS, ClipSpec
from .release import EVENT_NAMES, annotation
from .text import (
    attribute_caption,
    natural_caption,
    pos_tagger,
    role_swapped_srl_prompt,
    world_srl_prompt,
    verb_swapped_srl_prompt,
    web_caption,
)

#: The local frame (of 60) of each event used as the benchmark image: 1.5 s into the event.
BENCHMARK_FRAME = 45
IMAGE_DIRNAME = "images"
CANVAS = 64
ORDER_SEED = 1  # ARO's `seed_all(1)`


def image_name(clip_index: int, event_index: int) -> str:
    return f"{clip_index:04d}_ev{event_index + 1}.png"


def benchmark_frame_indices(num_events: int = 5) -> list[int]:
    """0-based frame indices (in the 300-frame clip) of the benchmark image of each event."""
    return [60 * k + BENCHMARK_FRAME for k in range(num_events)]


def _ing(verb_id: str) -> str:
    lemma = VERBS[verb_id].lemma
    return (lemma[:-1] if lemma.endswith("e") and not lemma.endswith("ee") else lemma) + "ing"


def _argument_slots(verb_id: str) -> tuple[str, ...]:
    return tuple(key.split(" ", 1)[0] for key in VERBS[verb_id].arg_keys)


def _other_verb(rng: np.random.Generator, verb_id: str) -> str:
    """Another verb with the same numbered arguments (chase → push; jump → move/spin; grow → shrink)."""
    pool = [v for v in VERBS if v != verb_id and _argument_slots(v) == _argument_slots(verb_id)]
    return pool[int(rng.integers(len(pool)))]


def _vg_record(index: int, clip_index: int, event_index: int, clip: ClipSpec, **fields) -> dict:
    return {
        "image_id": f"{clip_index:04d}_ev{event_index + 1}",
        "image_path": image_name(clip_index, event_index),
        "bbox_x": 0, "bbox_y": 0, "bbox_w": CANVAS, "bbox_h": CANVAS,
        **fields,
        "clip_id": clip.clip_id,
        "event": EVENT_NAMES[event_index],
        "index": index,
    }


def role_swap_items(clips: Sequence[ClipSpec], natural: bool) -> list[dict]:
    """ARO VG-Relation records, one per transitive event."""
    items = []
    for clip_index, clip in enumerate(clips):
        for event_index, event in enumerate(clip.events):
            if not event.verb.transitive:
                continue
            if natural:
                true, false = natural_caption(clip, event), natural_caption(clip, event, swap_roles=True)
            else:
                true, false = world_srl_prompt(clip, event), role_swapped_srl_prompt(clip, event)
            items.append(_vg_record(len(items), clip_index, event_index, clip, relation_name=_ing(event.verb_id),
                                    true_caption=true, false_caption=false, verb_id=event.verb_id))
    return items


def attribute_swap_items(clips: Sequence[ClipSpec]) -> list[dict]:
    """ARO VG-Attribution records: a colour swap per event, a size swap where sizes differ and are not in flux."""
    items = []
    for clip_index, clip in enumerate(clips):
        first, second = clip.cast
        for event_index, event in enumerate(clip.events):
            swaps = [("colour", first.colour, second.colour)]
            if first.size != second.size and event.verb_id not in SIZE_CHANGING_VERBS:
                swaps.append(("size", first.size, second.size))
            for attribute, a0, a1 in swaps:
                order = (0, 1) if a0 < a1 else (1, 0)
                attributes = sorted([a0, a1])
                items.append(_vg_record(
                    len(items), clip_index, event_index, clip, attributes=attributes, swapped_attribute=attribute,
                    true_caption=attribute_caption(clip, order), false_caption=attribute_caption(clip, order, attribute),
                ))
    return items


def verb_replace_items(clips: Sequence[ClipSpec], seed: int) -> tuple[dict, dict]:
    """SugarCrepe ``replace_rel`` dicts (SRL phrasing, natural phrasing) with the same replacement verbs."""
    rng = np.random.default_rng([seed, 7])
    srl, natural = {}, {}
    for clip_index, clip in enumerate(clips):
        for event_index, event in enumerate(clip.events):
            other = VERBS[_other_verb(rng, event.verb_id)]
            key = str(len(srl))
            meta = {"clip_id": clip.clip_id, "event": EVENT_NAMES[event_index], "verb_id": event.verb_id,
                    "negative_verb_id": other.verb_id}
            filename = image_name(clip_index, event_index)
            srl[key] = {"filename": filename, "caption": world_srl_prompt(clip, event),
                        "negative_caption": verb_swapped_srl_prompt(clip, event, other), **meta}
            natural[key] = {"filename": filename, "caption": natural_caption(clip, event),
                            "negative_caption": natural_caption(clip, event, verb=other), **meta}
    return srl, natural


def order_records(clips: Sequence[ClipSpec]) -> list[dict]:
    """Karpathy-format records (``{"image", "caption": [...]}``) for ARO's COCO-Order protocol."""
    return [
        {"image": f"{IMAGE_DIRNAME}/{image_name(clip_index, event_index)}",
         "caption": [natural_caption(clip, event, with_modifiers=True)],
         "image_id": f"{clip_index:04d}_ev{event_index + 1}"}
        for clip_index, clip in enumerate(clips)
        for event_index, event in enumerate(clip.events)
    ]


def order_caption_options(records: Sequence[dict]) -> list[dict] | None:
    """ARO's 5 options per caption, via the evaluators' `TextShuffler` and the world's POS tagger (None if absent)."""
    try:
        from dataset_scripts.benchmarks.perturbations import TextShuffler
    except ImportError:
        return None
    shuffler = TextShuffler(pos_tagger, word_tokenize=str.split, seed=ORDER_SEED)
    return [
        {"image": record["image"], "image_id": record["image_id"], "caption_options": shuffler.caption_options(caption)}
        for record in records
        for caption in record["caption"]
    ]


def web_retrieval_rows(clips: Sequence[ClipSpec], seed: int) -> list[dict]:
    """MSR-VTT CSV rows: one web-style caption of the whole clip per video."""
    rows = []
    for index, clip in enumerate(clips):
        rng = np.random.default_rng([seed, 11, index])
        rows.append({"key": f"ret{index}", "vid_key": f"msr{index}", "video_id": f"video{index}",
                     "sentence": web_caption(clip, rng)})
    return rows


def clip_ground_truth(clips: Sequence[ClipSpec]) -> list[dict]:
    """Each benchmark clip as a VidSitu annotation, plus its video id and image names (for debugging and analysis)."""
    return [
        {"video_id": f"video{index}", "images": [image_name(index, k) for k in range(len(clip.events))],
         "cast": [entity.noun_phrase for entity in clip.cast], "scene": clip.scene, "annotation": annotation(clip)}
        for index, clip in enumerate(clips)
    ]


def _dump_json(path: str, data) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1)


def _link_images(image_dir: str, target_dir: str, names: Sequence[str]) -> None:
    """Give a benchmark folder its own ``images/`` (hard links to the shared renders; copies if links fail)."""
    os.makedirs(target_dir, exist_ok=True)
    for name in dict.fromkeys(names):
        source, target = os.path.join(image_dir, name), os.path.join(target_dir, name)
        if os.path.exists(target):
            os.remove(target)
        try:
            os.link(source, target)
        except OSError:
            with open(source, "rb") as src, open(target, "wb") as dst:
                dst.write(src.read())


def write_benchmark_files(root: str, clips: Sequence[ClipSpec], image_dir: str, seed: int) -> dict:
    """Write every benchmark's annotation file under `root` (images are already rendered into `image_dir`; the
    web-retrieval videos into ``root/web_retrieval/videos``). Returns the summary also saved as ``benchmarks.json``."""
    summary = {}

    def vg(name: str, file: str, items: list[dict], phrasing: str, measures: str) -> None:
        _dump_json(os.path.join(root, name, file), items)
        _link_images(image_dir, os.path.join(root, name, IMAGE_DIRNAME), [item["image_path"] for item in items])
        summary[name] = {"format": "aro_vg_relation" if "relation" in file else "aro_vg_attribution", "file": file,
                         "items": len(items), "phrasing": phrasing, "chance": 50.0, "measures": measures}

    vg("role_swap", "visual_genome_relation.json", role_swap_items(clips, natural=False), "srl",
       "who fills which role of a transitive verb (chaser vs thing chased)")
    vg("role_swap_natural", "visual_genome_relation.json", role_swap_items(clips, natural=True), "natural",
       "who does what to whom, in plain sentences")
    vg("attribute_swap", "visual_genome_attribution.json", attribute_swap_items(clips), "natural",
       "which object has which colour / size")

    srl, natural = verb_replace_items(clips, seed)
    for name, items, phrasing in (("verb_replace", srl, "srl"), ("verb_replace_natural", natural, "natural")):
        _dump_json(os.path.join(root, name, "replace_rel.json"), items)
        _link_images(image_dir, os.path.join(root, name, IMAGE_DIRNAME), [item["filename"] for item in items.values()])
        summary[name] = {"format": "sugarcrepe", "file": "replace_rel.json", "items": len(items),
                         "phrasing": phrasing, "chance": 50.0, "measures": "which action is happening"}

    records = order_records(clips)
    _dump_json(os.path.join(root, "order", "coco_karpathy_test.json"), records)
    _link_images(image_dir, os.path.join(root, "order", IMAGE_DIRNAME),
                 [os.path.basename(record["image"]) for record in records])
    options = order_caption_options(records)
    if options is not None:
        _dump_json(os.path.join(root, "order", "caption_options.json"), options)
    summary["order"] = {"format": "aro_coco_order", "file": "coco_karpathy_test.json",
                        "items": sum(len(r["caption"]) for r in records), "phrasing": "natural", "chance": 20.0,
                        "measures": "word order (grammatical caption vs ARO's 4 shuffles)",
                        "precomputed_options": "caption_options.json" if options is not None else None,
                        "pos_tagger": "dataset_scripts.toy_world.text:world_pos_tagger"}

    rows = web_retrieval_rows(clips, seed)
    path = os.path.join(root, "web_retrieval", "MSRVTT_JSFUSION_test.csv")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["key", "vid_key", "video_id", "sentence"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    summary["web_retrieval"] = {"format": "msrvtt_csv", "file": "MSRVTT_JSFUSION_test.csv", "video_dir": "videos",
                                "items": len(rows), "phrasing": "web", "chance": 100.0 / max(len(rows), 1),
                                "measures": "text-to-video retrieval with web-style captions (what the base knew)"}

    _dump_json(os.path.join(root, "clips.json"), clip_ground_truth(clips))
    _dump_json(os.path.join(root, "benchmarks.json"), summary)
    return summary
