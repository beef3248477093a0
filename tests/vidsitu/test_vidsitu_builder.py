"""The `datasets` builder and `load_vidsitu`: schema, splits, prompts/negatives in rows, lexicon source, caching."""

import json
import os

import datasets
import pytest
from vidsitu_fixtures import real_annotation

from dataset_scripts.vidsitu import (
    FEATURES,
    NegativeSampler,
    VerbLexicon,
    VidSituBuilder,
    VidSituConfig,
    build_verb_lexicon,
    event_rng,
    is_empty_value,
    load_vidsitu,
    no_template_prompt,
    srl_prompt,
    verb_only_prompt,
    verb_role_negatives,
    vidsitu_transform,
    write_release,
    write_synthetic_release,
)
from dataset_scripts.vidsitu.synthetic import make_synthetic_annotations


def _raw_annotations(release, split):
    with open(os.path.join(release.annotations_dir, "vseg_ann_files", f"vsann_{split}_lb.json")) as handle:
        return json.load(handle)


def test_columns_and_schema(release, cache_dir):
    train = load_vidsitu(release.root, "train", cache_dir=cache_dir)
    assert train.features == FEATURES
    assert train.column_names == ["clip_id", "events", "srl_annotations"]
    assert train["clip_id"] == release.split_ids["train"]  # split-file order (the official ann_idx)
    event_keys = {"verb", "verb_lemma", "verb_id", "roles", "evrel", "prompt", "verb_only_prompt",
                  "negative_prompts", "verb_ids_10"}  # fmt: skip
    for row in train:
        assert len(row["events"]) == 5 and row["srl_annotations"] == []
        for event in row["events"]:
            assert set(event) == event_keys
            assert event["verb_ids_10"] == []
            assert all(set(role) == {"key", "short", "description", "value"} for role in event["roles"])
        assert row["events"][2]["evrel"] is None and all(row["events"][k]["evrel"] for k in (0, 1, 3, 4))


def test_train_rows_match_the_raw_annotations(release, cache_dir):
    train = load_vidsitu(release.root, "train", cache_dir=cache_dir)
    raw = {annotation["Ev1"]["vid_seg_int"]: annotation for annotation in _raw_annotations(release, "train")}
    for row in train:
        annotation = raw[row["clip_id"]]
        for k, event in enumerate(row["events"]):
            raw_event = annotation[f"Ev{k + 1}"]
            assert event["verb"] == raw_event["Verb"] and event["verb_id"] == raw_event["VerbID"]
            assert [role["key"] for role in event["roles"]] == [
                key
                for key in sorted(raw_event["Arg_List"], key=lambda key: int(raw_event["Arg_List"][key]))
                if not is_empty_value(raw_event["Args"][key])  # "-" marks an empty slot (rule R8)
            ]
            assert event["prompt"] == srl_prompt(raw_event) == srl_prompt(event)
            assert event["verb_only_prompt"] == verb_only_prompt(raw_event)


def test_negatives_in_rows(release, cache_dir):
    train = load_vidsitu(release.root, "train", cache_dir=cache_dir)
    lexicon = build_verb_lexicon(release.root)
    counts = []
    for row in train:
        for k, event in enumerate(row["events"]):
            negatives = event["negative_prompts"]
            counts.append(len(negatives))
            assert len(negatives) <= 4 and len(set(negatives)) == len(negatives) and event["prompt"] not in negatives
            # Order-independent: a function of (seed, clip id, event index) only.
            assert negatives == verb_role_negatives(event, lexicon, 4, event_rng(0, row["clip_id"], k))
            for negative in negatives:  # the common roles are kept verbatim
                for role in event["roles"]:
                    if not role["short"].startswith("Arg"):
                        assert f"{role['description']} is {role['value']}" in negative
    assert max(counts) == 4


def test_deterministic_and_seeded(release, tmp_path):
    first = load_vidsitu(release.root, "train", cache_dir=str(tmp_path / "a"))
    second = load_vidsitu(release.root, "train", cache_dir=str(tmp_path / "b"))
    assert first.to_list() == second.to_list()
    reseeded = load_vidsitu(release.root, "train", negatives_seed=1, cache_dir=str(tmp_path / "a"))
    assert reseeded["events"] != first["events"]
    assert [e["prompt"] for r in reseeded["events"] for e in r] == [e["prompt"] for r in first["events"] for e in r]


def test_valid_keeps_annotators_and_verb_annotations(release, cache_dir):
    valid = load_vidsitu(release.root, "validation", cache_dir=cache_dir)  # alias
    assert len(valid) == 3
    with open(os.path.join(release.annotations_dir, "vinfo_files", "vinfo_valid_lb.json")) as handle:
        vinfo = {record["vid_seg_int"]: record for record in json.load(handle)}
    for row in valid:
        assert len(row["srl_annotations"]) == 3 and all(len(copy) == 5 for copy in row["srl_annotations"])
        assert row["srl_annotations"][0] == [
            {key: event[key] for key in ("verb", "verb_lemma", "verb_id", "roles", "evrel")} for event in row["events"]
        ]
        for k, event in enumerate(row["events"]):
            assert event["verb_ids_10"] == vinfo[row["clip_id"]]["vbid_lst"][f"Ev{k + 1}"]
            assert len(event["verb_ids_10"]) == 10


def test_valid_negatives_use_train_verbs_only(tmp_path, cache_dir):
    records = make_synthetic_annotations(num_train=2, num_valid=4, num_test=0, seed=4)
    root = write_release(str(tmp_path / "release"), **records).root
    train_lemmas = {
        event["verb_lemma"] for row in load_vidsitu(root, "train", cache_dir=cache_dir)["events"] for event in row
    }
    valid = load_vidsitu(root, "valid", cache_dir=cache_dir)
    valid_only = {e["verb_lemma"] for row in valid["events"] for e in row} - train_lemmas
    assert valid_only  # this seed has verbs in valid that train lacks
    for row in valid["events"]:
        for event in row:
            for negative in event["negative_prompts"]:
                lemma = negative.split("the action is ", 1)[1].split(" where,")[0].rstrip(".")
                assert lemma in train_lemmas


def test_test_splits_have_ids_only(release, cache_dir):
    for split, name in [("testvb", "testvb"), ("test_srl", "testsrl"), ("testevrel", "testevrel")]:
        dataset = load_vidsitu(release.root, split, cache_dir=cache_dir)
        assert dataset["clip_id"] == release.split_ids[name]
        assert dataset["events"] == [[], []] and dataset.features == FEATURES
    with pytest.raises(ValueError, match="Unknown VidSitu split"):
        load_vidsitu(release.root, "test", cache_dir=cache_dir)


def test_no_template_style(release, cache_dir):
    train = load_vidsitu(release.root, "train", prompt_style="no_template", cache_dir=cache_dir)
    srl = load_vidsitu(release.root, "train", cache_dir=cache_dir)
    for event, srl_event in zip(train[0]["events"], srl[0]["events"]):
        assert event["prompt"] == no_template_prompt(event)
        assert len(event["negative_prompts"]) == len(srl_event["negative_prompts"]) > 0
        assert all(n.split(", ", 1)[1] == event["prompt"].split(", ", 1)[1] for n in event["negative_prompts"])


def test_verb_only_style_and_no_negatives(release, cache_dir):
    train = load_vidsitu(release.root, "train", prompt_style="verb_only", cache_dir=cache_dir)
    for event in train[0]["events"]:
        assert event["prompt"] == event["verb_only_prompt"] == verb_only_prompt(event["verb_lemma"])
        assert all(" where," not in negative for negative in event["negative_prompts"])
        assert event["negative_prompts"] and all(
            n.startswith("In this photo, the action is ") for n in event["negative_prompts"]
        )
    none = load_vidsitu(release.root, "train", num_negatives=0, cache_dir=cache_dir)
    assert all(event["negative_prompts"] == [] for row in none["events"] for event in row)
    with pytest.raises(ValueError, match="prompt_style"):
        load_vidsitu(release.root, "train", prompt_style="natural", cache_dir=cache_dir)


def test_lexicon_sources(release, tmp_path, cache_dir):
    default = load_vidsitu(release.root, "train", cache_dir=cache_dir)["events"]
    lexicon = build_verb_lexicon(release.root)
    path = str(tmp_path / "lexicon.json")
    lexicon.save(path)
    assert load_vidsitu(release.root, "train", lexicon=path, cache_dir=cache_dir)["events"] == default
    assert load_vidsitu(release.root, "train", lexicon=lexicon, cache_dir=cache_dir)["events"] == default
    tiny = VerbLexicon([lexicon[verb_id] for verb_id in list(lexicon)[:2]])
    fewer = load_vidsitu(release.root, "train", lexicon=tiny, cache_dir=cache_dir)["events"]
    assert all(len(event["negative_prompts"]) <= 2 for row in fewer for event in row)
    assert any(len(event["negative_prompts"]) < 2 for row in fewer for event in row)


def test_builder_direct_use_and_all_splits(release, cache_dir):
    builder = VidSituBuilder(data_dir=release.root, cache_dir=cache_dir)
    builder.download_and_prepare()
    assert set(builder.info.splits) == {"train", "valid", "testvb", "testsrl", "testevrel"}
    assert len(builder.as_dataset("valid")) == 3
    assert builder.skipped_summary["train"]["clips_kept"] == 6
    assert isinstance(builder.config, VidSituConfig) and len(builder.lexicon) > 0
    with pytest.raises(ValueError, match="data_dir"):
        VidSituBuilder(cache_dir=cache_dir).download_and_prepare()


def test_accepts_the_annotations_folder_itself(release, cache_dir):
    assert len(load_vidsitu(release.annotations_dir, "train", cache_dir=cache_dir)) == 6


def test_cache_is_invalidated_when_the_files_change(tmp_path, cache_dir):
    root = str(tmp_path / "release")
    write_synthetic_release(root, num_train=3, num_valid=1, num_test=0, seed=0)
    before = load_vidsitu(root, "train", cache_dir=cache_dir)["clip_id"]
    write_synthetic_release(root, num_train=4, num_valid=1, num_test=0, seed=1)
    after = load_vidsitu(root, "train", cache_dir=cache_dir)["clip_id"]
    assert len(after) == 4 and after != before


def test_real_looking_annotation_end_to_end(tmp_path, cache_dir):
    annotation = real_annotation()
    clip_id = annotation["Ev1"]["vid_seg_int"]
    records = make_synthetic_annotations(num_train=10, num_valid=0, num_test=0, seed=0)
    records["split_ids"]["train"].append(clip_id)
    records["annotations"]["train"].append(annotation)
    root = write_release(str(tmp_path / "release"), **records).root
    train = load_vidsitu(root, "train", cache_dir=cache_dir)
    row = train[len(train) - 1]
    assert row["clip_id"] == clip_id
    assert row["events"][0]["prompt"] == (
        "In this photo, the action is dive where, the thing falling is man in wetsuit, direction is downward, "
        "and scene of the event is lake."
    )
    assert row["events"][4]["roles"][0]["value"] == "brunette boy"  # double space collapsed
    assert all(event["negative_prompts"] for event in row["events"])


def test_generation_errors_are_not_wrapped(tmp_path, cache_dir):
    records = make_synthetic_annotations(num_train=2, num_valid=0, num_test=0, seed=0)
    records["annotations"]["train"][1]["Ev3"]["VerbID"] = ""
    root = write_release(str(tmp_path / "release"), **records).root
    try:
        load_vidsitu(root, "train", cache_dir=cache_dir)
    except datasets.exceptions.DatasetGenerationError:  # pragma: no cover - the failure we guard against
        pytest.fail("VidSituFormatError was wrapped in DatasetGenerationError")
    except ValueError as error:
        assert "VerbID" in str(error) and "Ev3" in str(error)


# --- real-data forms: longer modifier keys, "-" values, fill levels, fresh negatives ---------------------------------
def _real_form_release(tmp_path):
    """A release in the official format whose first train clip uses the forms the real annotations contain."""
    annotation = real_annotation()
    clip_id = annotation["Ev1"]["vid_seg_int"]
    ev1 = annotation["Ev1"]  # dive: Arg1 + ArgM (direction) + scene
    ev1["Args"]["ArgM (direction (toward or away, e.g. up!))"] = ev1["Args"].pop("ArgM (direction)")
    ev1["Arg_List"]["ArgM (direction (toward or away, e.g. up!))"] = ev1["Arg_List"].pop("ArgM (direction)")
    ev1["Args"]["Scene of the Event"] = "-"  # an empty slot
    annotation["Ev2"]["Args"] = {key: "-" for key in annotation["Ev2"]["Args"]}  # every role empty
    records = make_synthetic_annotations(num_train=12, num_valid=0, num_test=0, seed=4)
    records["split_ids"]["train"].insert(0, clip_id)
    records["annotations"]["train"].insert(0, annotation)
    return write_release(str(tmp_path / "release"), **records).root, clip_id


def test_real_forms_build_in_strict_mode_with_clean_prompts(tmp_path, cache_dir, capsys):
    root, clip_id = _real_form_release(tmp_path)
    train, summary = load_vidsitu(root, "train", cache_dir=cache_dir, strict=True, return_summary=True)
    row = train[0]
    assert row["clip_id"] == clip_id
    dive, flip = row["events"][0], row["events"][1]
    assert [role["short"] for role in dive["roles"]] == ["Arg1", "ADir"]
    assert dive["prompt"] == (
        "In this photo, the action is dive where, the thing falling is man in wetsuit, and direction is downward."
    )
    assert flip["roles"] == [] and flip["prompt"] == "In this photo, the action is flip."
    for row in train:
        for event in row["events"]:
            for text in [event["prompt"], *event["negative_prompts"]]:
                assert " is -" not in text and " is ." not in text and " is ," not in text
            assert len(event["negative_prompts"]) == 4  # the lexicon has >= 4 other lemmas (N7)
    assert summary["empty_values"]["AScn"] >= 1 and sum(summary["empty_values"].values()) >= 4
    levels = summary["negative_fill_levels"]
    assert sum(levels.values()) == 5 * len(train) and "short" not in levels
    assert "empty role values" in capsys.readouterr().out  # printed, not silent
    # Read back from the datasets cache: the same summary.
    _, again = load_vidsitu(root, "train", cache_dir=cache_dir, strict=True, return_summary=True)
    assert again == summary


def test_fresh_negatives_every_epoch_are_deterministic(release, cache_dir):
    fixed = load_vidsitu(release.root, "train", cache_dir=cache_dir)
    fresh = load_vidsitu(release.root, "train", cache_dir=cache_dir, negative_sampling="per_epoch")
    transform = vidsitu_transform(fresh)
    lexicon = build_verb_lexicon(release.root)
    sampler = NegativeSampler(lexicon, 4, 0, "srl")

    def negatives(dataset):
        return [[event["negative_prompts"] for event in row["events"]] for row in dataset]

    epoch0 = negatives(fresh)
    transform.set_epoch(1)
    epoch1 = negatives(fresh)
    assert epoch0 != epoch1 and epoch0 != negatives(fixed)
    transform.set_epoch(0)
    assert negatives(fresh) == epoch0  # a pure function of (seed, epoch, clip, event)
    for row, per_event in zip(fixed, epoch0):
        for index, (event, drawn) in enumerate(zip(row["events"], per_event)):
            assert drawn == sampler.draw(event, row["clip_id"], index, epoch=0).prompts
            assert event["negative_prompts"] == sampler.draw(event, row["clip_id"], index).prompts  # fixed draw
            assert event["prompt"] not in drawn and len(set(drawn)) == len(drawn)
    # Only the negatives change: prompts and roles are the prepared rows'.
    assert [[e["prompt"] for e in r["events"]] for r in fresh] == [[e["prompt"] for e in r["events"]] for r in fixed]
    with pytest.raises(ValueError, match="negative_sampling"):
        load_vidsitu(release.root, "train", cache_dir=cache_dir, negative_sampling="sometimes")


def test_inspect_command_shows_keys_prompts_negatives_and_summary(tmp_path, cache_dir, capsys):
    from dataset_scripts.vidsitu.__main__ import main

    root, clip_id = _real_form_release(tmp_path)
    assert main(["--data_dir", root, "--cache_dir", cache_dir, "--negative_sampling", "per_epoch", "--epoch", "2"]) == 0
    out = capsys.readouterr().out
    assert f"clip {clip_id}" in out
    assert "'ArgM (direction (toward or away, e.g. up!))': 'downward' -> ADir" in out
    assert "'Scene of the Event': '-' -> dropped: empty value" in out
    assert "prompt:   In this photo, the action is flip." in out and out.count("negative: ") == 20
    assert '"empty_values"' in out and '"negative_fill_levels"' in out
    assert main(["--data_dir", str(tmp_path / "nowhere"), "--cache_dir", cache_dir]) == 2
    assert "error:" in capsys.readouterr().err
