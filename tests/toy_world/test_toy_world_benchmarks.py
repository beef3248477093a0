"""Benchmark files in the official ARO / SugarCrepe / MSR-VTT formats, read back by the evaluators' own readers."""

import json
import os

from toy_world_fixtures import TINY_WORLD

from dataset_scripts.benchmarks.aro import load_order, load_vg, vg_relation_excluded
from dataset_scripts.benchmarks.perturbations import TextShuffler, load_pos_tagger
from dataset_scripts.benchmarks.retrieval_csv import find_retrieval_csv, load_retrieval_csv
from dataset_scripts.benchmarks.sugarcrepe import load_sugarcrepe
from dataset_scripts.toy_world import world_clips
from dataset_scripts.toy_world.benchmarks import role_swap_items
from dataset_scripts.toy_world.grammar import VERBS


def _bench(tiny_world, *parts):
    return os.path.join(tiny_world[0], "benchmarks", *parts)


def _num_events(kind="all"):
    clips = world_clips(TINY_WORLD)["benchmark"]
    events = [event for clip in clips for event in clip.events]
    return len(events) if kind == "all" else sum(event.verb.transitive for event in events)


def test_role_swap_is_aro_vg_relation(tiny_world):
    for name in ("role_swap", "role_swap_natural"):
        items = load_vg(_bench(tiny_world, name), "relation")
        assert len(items) == _num_events("transitive") > 0
        assert not {item.group for item in items} & set(vg_relation_excluded())
        for item in items:
            assert item.crop_box == (0.0, 0.0, 64.0, 64.0)
            assert item.true_caption != item.false_caption
            assert sorted(item.true_caption.split()) == sorted(item.false_caption.split())  # same words, roles swapped


def test_role_swap_captions():
    clips = world_clips(TINY_WORLD)["benchmark"]
    srl = role_swap_items(clips, natural=False)[0]
    natural = role_swap_items(clips, natural=True)[0]
    clip = next(c for c in clips if c.clip_id == srl["clip_id"])
    event = clip.events[int(srl["event"][2:]) - 1]
    first, second = (clip.cast[i].noun_phrase for i in event.participants)
    chaser, chased = (d for d in event.verb.role_descriptions)
    assert f"the {chaser} is {first}, the {chased} is {second}" in srl["true_caption"]
    assert f"the {chaser} is {second}, the {chased} is {first}" in srl["false_caption"]
    assert natural["true_caption"].startswith(f"the {first} {event.verb.third_person} the {second}")
    assert natural["false_caption"].startswith(f"the {second} {event.verb.third_person} the {first}")


def test_attribute_swap_is_aro_vg_attribution(tiny_world):
    items = load_vg(_bench(tiny_world, "attribute_swap"), "attribution")
    assert len(items) >= _num_events()  # a colour swap per event, plus size swaps
    for item in items:
        a1, a2 = item.group.split("_")
        assert a1 < a2 and f" {a1} " in f" {item.true_caption} " and f" {a2} " in f" {item.true_caption} "
        assert item.true_caption != item.false_caption


def test_verb_replace_is_sugarcrepe(tiny_world):
    for name in ("verb_replace", "verb_replace_natural"):
        items = load_sugarcrepe(_bench(tiny_world, name), _bench(tiny_world, name, "images"), subsets=["replace_rel"])
        assert len(items) == _num_events()
        for item in items:
            assert item.caption != item.negative_caption
    raw = json.load(open(_bench(tiny_world, "verb_replace", "replace_rel.json"), encoding="utf-8"))
    for record in raw.values():  # the replacement takes the same numbered arguments
        slots = [[key.split()[0] for key in VERBS[record[k]].arg_keys] for k in ("verb_id", "negative_verb_id")]
        assert slots[0] == slots[1] and record["verb_id"] != record["negative_verb_id"]


def test_order_options_match_the_aro_reader(tiny_world):
    data_dir = _bench(tiny_world, "order")
    tagger = load_pos_tagger("dataset_scripts.toy_world.text:world_pos_tagger")
    items = load_order(data_dir, "coco", TextShuffler(tagger, seed=1))
    precomputed = json.load(open(os.path.join(data_dir, "caption_options.json"), encoding="utf-8"))
    assert len(items) == len(precomputed) == _num_events()
    assert [list(item.caption_options) for item in items] == [entry["caption_options"] for entry in precomputed]
    for entry in precomputed:
        assert len(entry["caption_options"]) == 5
        assert sorted(entry["caption_options"][1].split()) == sorted(entry["caption_options"][0].split())


def test_web_retrieval_is_msrvtt(tiny_world):
    data_dir = _bench(tiny_world, "web_retrieval")
    path = find_retrieval_csv(data_dir)
    with open(path, encoding="utf-8") as handle:
        assert handle.readline().strip() == "key,vid_key,video_id,sentence"
    data = load_retrieval_csv(path, os.path.join(data_dir, "videos"))
    assert data.video_ids == [f"video{i}" for i in range(TINY_WORLD.num_benchmark_clips)]
    assert len(data.sentences) == TINY_WORLD.num_benchmark_clips


def test_summary_lists_every_benchmark(tiny_world):
    summary = json.load(open(_bench(tiny_world, "benchmarks.json"), encoding="utf-8"))
    assert set(summary) == {"role_swap", "role_swap_natural", "attribute_swap", "verb_replace",
                            "verb_replace_natural", "order", "web_retrieval"}
    assert summary == {k: v for k, v in tiny_world[1]["benchmarks"].items() if k != "dir"}
