"""Verb-frame lexicon and verb-role hard negatives (rules N1–N8 of negatives.py, paper §5)."""

import json
import random
from collections import Counter

import pytest
from vidsitu_fixtures import PAPER_EVENT, REAL_LOOKING_EVENTS, real_event

from dataset_scripts.vidsitu import (
    NegativeSampler,
    VerbLexicon,
    build_verb_lexicon,
    draw_negatives,
    event_rng,
    no_template_prompt,
    parse_event,
    srl_prompt,
    verb_only_prompt,
    verb_role_negatives,
    write_synthetic_release,
)

WALKER = "man with short hair wearing collared shirt"


def _lexicon(*events):
    return VerbLexicon.from_events(parse_event(event) for event in events)


def _jog(**extra):
    return real_event("jog (run slowly)", "jog.01", [("Arg0 (jogger)", "a woman"), *extra.get("args", [])])


def test_lexicon_maps_verb_ids_to_role_descriptions():
    lexicon = _lexicon(*REAL_LOOKING_EVENTS, PAPER_EVENT, _jog())
    assert lexicon.role_descriptions("walk.01") == {"Arg0": "walker"}
    assert lexicon.role_descriptions("strike.01") == {"Arg0": "hitter", "Arg1": "thing hit", "Arg2": "instrument"}
    assert lexicon.role_descriptions("talk.01") == {"Arg0": "talker", "Arg2": "hearer"}
    assert lexicon["pull.01"].lemma == "pull" and lexicon["pull.01"].verb == "pull ((try to) cause motion)"
    assert "ADir" not in lexicon.role_descriptions("dive.02")  # modifiers are not verb-specific
    assert len(lexicon) == 7 and list(lexicon) == sorted(lexicon)


def test_lexicon_merges_annotations_of_the_same_verb():
    a = real_event("hold (grasp)", "hold.01", [("Arg0 (holder)", "man")])
    b = real_event("hold (grasp)", "hold.01", [("Arg1 (thing held)", "gun")])
    c = real_event("hold (grasp)", "hold.01", [("Arg0 (holder, agent)", "woman"), ("Arg1 (thing held)", "cup")])
    lexicon = _lexicon(a, b, c)
    assert lexicon.role_descriptions("hold.01") == {"Arg0": "holder", "Arg1": "thing held"}
    assert lexicon["hold.01"].count == 3


def test_lexicon_round_trips_through_json(tmp_path):
    lexicon = _lexicon(*REAL_LOOKING_EVENTS, PAPER_EVENT)
    lexicon.save(str(tmp_path / "lexicon.json"))
    assert VerbLexicon.load(str(tmp_path / "lexicon.json")) == lexicon


def test_build_verb_lexicon_from_a_release_uses_train_only(tmp_path):
    release = write_synthetic_release(str(tmp_path), num_train=3, num_valid=3, num_test=0, seed=5)
    lexicon = build_verb_lexicon(release.root)
    train_verbs = set()
    with open(f"{release.annotations_dir}/vseg_ann_files/vsann_train_lb.json") as handle:
        for annotation in json.load(handle):
            train_verbs |= {event["VerbID"] for event in annotation.values()}
    assert set(lexicon) == train_verbs


def test_walk_becomes_jog_with_jogger_keeping_nouns_and_common_roles():
    lexicon = _lexicon(PAPER_EVENT, _jog())
    negatives = verb_role_negatives(parse_event(PAPER_EVENT), lexicon, n=4, rng=0)
    assert negatives == [
        f"In this photo, the action is jog where, the jogger is {WALKER}, direction is forward, manner is slowly, "
        "and scene of the event is apartment."
    ]  # N6: only one other verb exists, so only one negative


def test_every_numbered_role_gets_the_candidate_description():
    strike = parse_event(REAL_LOOKING_EVENTS[3])  # Arg0, Arg1, Arg2 + manner
    hit = real_event(
        "hit (strike)", "hit.01", [("Arg0 (hitter)", "x"), ("Arg1 (thing hit)", "y"), ("Arg2 (instrument)", "z")]
    )
    push = real_event(
        "push (apply force)",
        "push.01",
        [("Arg0 (pusher)", "x"), ("Arg1 (thing pushed)", "y"), ("Arg2 (direction)", "z")],
    )
    lexicon = _lexicon(REAL_LOOKING_EVENTS[3], hit, push)
    negatives = verb_role_negatives(strike, lexicon, n=4, rng=1)
    assert sorted(negatives) == [
        "In this photo, the action is hit where, the hitter is brunette girl, the thing hit is the man with brown "
        "hair's leg, the instrument is bat, and manner is angrily.",
        "In this photo, the action is push where, the pusher is brunette girl, the thing pushed is the man with "
        "brown hair's leg, the direction is bat, and manner is angrily.",
    ]


def test_verbs_that_describe_every_argument_come_first_then_the_most_compatible():
    # talk uses Arg0 + Arg2. speak describes both (level 0); jog and walk lack Arg2 (level 1): they only fill, and
    # their missing argument reads as PropBank's generic name, never the positive's "hearer" (N1, N7).
    talk = parse_event(REAL_LOOKING_EVENTS[2])
    speak = real_event("speak (talk)", "speak.01", [("Arg0 (speaker, agent)", "a"), ("Arg2 (listener)", "b")])
    lexicon = _lexicon(REAL_LOOKING_EVENTS[2], _jog(), speak, PAPER_EVENT)
    for seed in range(10):
        draw = draw_negatives(talk, lexicon, n=3, rng=seed)
        assert draw.fill_level == 1
        assert draw.prompts[0] == (
            "In this photo, the action is speak where, the speaker is brunette girl, the listener is brunette boy, "
            "location is lake, and manner is casually."
        )
        assert sorted(draw.prompts[1:]) == [
            "In this photo, the action is jog where, the jogger is brunette girl, the instrument is brunette boy, "
            "location is lake, and manner is casually.",
            "In this photo, the action is walk where, the walker is brunette girl, the instrument is brunette boy, "
            "location is lake, and manner is casually.",
        ]
        assert not any("hearer" in negative for negative in draw.prompts)
    assert draw_negatives(talk, lexicon, n=1, rng=0) == ([draw.prompts[0]], 0)
    assert draw_negatives(talk, lexicon, n=4, rng=0).fill_level is None  # only 3 other lemmas (N8)


def test_every_event_gets_n_negatives_when_the_lexicon_has_n_other_lemmas(tmp_path):
    release = write_synthetic_release(str(tmp_path), num_train=40, num_valid=0, num_test=0, seed=3)
    lexicon = build_verb_lexicon(release.root)
    assert lexicon.num_lemmas > 5
    strike = parse_event(REAL_LOOKING_EVENTS[3])  # Arg0 + Arg1 + Arg2: few verbs describe all three
    levels = lexicon.lemma_levels(("Arg0", "Arg1", "Arg2"))
    assert sum(len(level) for level in levels) == lexicon.num_lemmas
    for n in range(1, lexicon.num_lemmas):
        draw = draw_negatives(strike, lexicon, n=n, rng=event_rng(0, "clip", 3))
        others = lexicon.num_lemmas - ("strike" in {f.lemma_lower for f in lexicon.frames})
        assert len(draw.prompts) == min(n, others) and len(set(draw.prompts)) == len(draw.prompts)
        # the fill level is the first level at which the cumulative number of usable lemmas reaches n
        usable = [sum(1 for lemma, _ in level if lemma != "strike") for level in levels]
        expected = next((k for k in range(len(levels)) if sum(usable[: k + 1]) >= n), None)
        assert draw.fill_level == expected


def test_the_lemma_is_drawn_uniformly_not_in_proportion_to_its_senses():
    # run has 9 senses, jog 1: each lemma must come first about half of the time.
    runs = [real_event(f"run (sense {i})", f"run.{i:02d}", [("Arg0 (runner)", "x")]) for i in range(1, 10)]
    lexicon = _lexicon(PAPER_EVENT, _jog(), *runs)
    event = parse_event(PAPER_EVENT)
    first_lemmas = Counter(
        draw_negatives(event, lexicon, n=1, rng=event_rng(0, f"clip{i}", 0)).prompts[0].split()[6] for i in range(2000)
    )
    assert set(first_lemmas) == {"jog", "run"}
    assert abs(first_lemmas["jog"] / 2000 - 0.5) < 0.05


def test_same_lemma_other_sense_is_skipped():
    run1 = real_event("run (operate)", "run.01", [("Arg0 (operator)", "a")])
    run2 = real_event("run (move quickly)", "run.02", [("Arg0 (runner)", "a")])
    lexicon = _lexicon(run1, run2, PAPER_EVENT)
    negatives = verb_role_negatives(parse_event(run2), lexicon, n=4, rng=0)
    assert [negative.split(" where,")[0] for negative in negatives] == ["In this photo, the action is walk"]


def test_no_duplicates_and_never_the_positive():
    # Two senses with different lemmas but identical rendering would duplicate; and a verb equal to the positive's
    # rendering must never appear.
    a = real_event("jog (run slowly)", "jog.01", [("Arg0 (jogger)", "x")])
    b = real_event("jog (run slowly)", "jog.02", [("Arg0 (jogger)", "x")])
    lexicon = _lexicon(PAPER_EVENT, a, b)
    negatives = verb_role_negatives(parse_event(PAPER_EVENT), lexicon, n=4, rng=0)
    assert len(negatives) == 1
    lexicon = _lexicon(*REAL_LOOKING_EVENTS, PAPER_EVENT, a, b)
    for seed in range(20):
        for event in REAL_LOOKING_EVENTS + [PAPER_EVENT]:
            parsed = parse_event(event)
            negatives = verb_role_negatives(parsed, lexicon, n=4, rng=seed)
            assert len(set(negatives)) == len(negatives)
            assert srl_prompt(parsed) not in negatives


def test_too_few_lemmas_returns_fewer_or_none():
    lexicon = _lexicon(PAPER_EVENT)
    assert verb_role_negatives(parse_event(PAPER_EVENT), lexicon, n=4, rng=0) == []
    assert verb_role_negatives(parse_event(PAPER_EVENT), VerbLexicon([]), n=4, rng=0) == []
    assert verb_role_negatives(parse_event(PAPER_EVENT), _lexicon(PAPER_EVENT, _jog()), n=0, rng=0) == []


def test_deterministic_given_seed_and_depends_on_it(tmp_path):
    release = write_synthetic_release(str(tmp_path), num_train=30, num_valid=0, num_test=0, seed=2)
    lexicon = build_verb_lexicon(release.root)
    event = parse_event(REAL_LOOKING_EVENTS[1])  # flip: Arg0 + Arg1, many candidates
    first = verb_role_negatives(event, lexicon, n=4, rng=event_rng(0, "clip", 1))
    assert len(first) == 4
    assert verb_role_negatives(event, lexicon, n=4, rng=event_rng(0, "clip", 1)) == first
    draws = {tuple(verb_role_negatives(event, lexicon, n=4, rng=event_rng(seed, "clip", 1))) for seed in range(10)}
    assert len(draws) > 1
    assert verb_role_negatives(event, lexicon, n=4, rng=random.Random(3)) == verb_role_negatives(
        event, lexicon, n=4, rng=3
    )
    # The first k negatives do not depend on how many are asked for.
    assert verb_role_negatives(event, lexicon, n=2, rng=event_rng(0, "clip", 1)) == first[:2]


def test_event_rng_is_uniform_enough():
    values = [event_rng(7, f"clip{i}", i % 5).random() for i in range(4000)]
    assert all(0.0 <= value < 1.0 for value in values)
    assert abs(sum(values) / len(values) - 0.5) < 0.02
    rng = event_rng(0, "a", 0)
    assert len({rng.random() for _ in range(40)}) == 40  # goes past the first 4-draw block


def test_verb_only_negatives():
    lexicon = _lexicon(*REAL_LOOKING_EVENTS, PAPER_EVENT)
    negatives = verb_role_negatives(parse_event(PAPER_EVENT), lexicon, n=4, rng=0, prompt_style="verb_only")
    assert len(negatives) == 4
    lemmas = {"dive", "flip", "talk", "strike", "pull"}
    for negative in negatives:
        assert negative.startswith("In this photo, the action is ") and negative.rsplit(" ", 1)[1] in lemmas
    assert verb_only_prompt(PAPER_EVENT) not in negatives
    with pytest.raises(ValueError):
        verb_role_negatives(parse_event(PAPER_EVENT), lexicon, prompt_style="llama")


def test_no_template_negatives_swap_the_verb_only_and_use_the_srl_candidates():
    lexicon = _lexicon(*REAL_LOOKING_EVENTS, PAPER_EVENT, _jog())
    event = parse_event(PAPER_EVENT)
    negatives = verb_role_negatives(event, lexicon, n=4, rng=0, prompt_style="no_template")
    srl_negatives = verb_role_negatives(event, lexicon, n=4, rng=0)
    values = no_template_prompt(event).split(", ", 1)[1]
    assert negatives and len(negatives) == len(srl_negatives)
    assert all(negative.split(", ", 1)[1] == values for negative in negatives)  # N2: values kept verbatim
    # Same candidates in the same order as the SRL negatives (N1, N5): only the wording differs.
    assert [n.split(", ", 1)[0] for n in negatives] == [n.split("the action is ")[1].split(" ")[0] for n in srl_negatives]
    assert no_template_prompt(event) not in negatives


def test_braces_in_values_are_safe():
    event = real_event("walk (go)", "walk.01", [("Arg0 (walker)", "man {with} braces"), ("ArgM (manner)", "{0}")])
    lexicon = _lexicon(event, _jog())
    assert verb_role_negatives(parse_event(event), lexicon, n=1, rng=0) == [
        "In this photo, the action is jog where, the jogger is man {with} braces, and manner is {0}."
    ]
    assert verb_role_negatives(parse_event(event), lexicon, n=1, rng=0, prompt_style="no_template") == [
        "jog, man {with} braces, {0}"
    ]


def test_a_pool_bounds_the_distinct_negatives_an_event_ever_gets(tmp_path):
    release = write_synthetic_release(str(tmp_path), num_train=40, num_valid=0, num_test=0, seed=2)
    lexicon = build_verb_lexicon(release.root)
    event = parse_event(REAL_LOOKING_EVENTS[1])  # flip: Arg0 + Arg1, many candidates
    free, pooled = NegativeSampler(lexicon, 4, 0), NegativeSampler(lexicon, 4, 0, pool_size=8)
    first_eight = draw_negatives(event, lexicon, n=8, rng=event_rng(0, "clip", 1)).prompts
    seen_free, seen_pooled = set(), set()
    for epoch in range(30):
        picked = pooled.draw(event, "clip", 1, epoch=epoch)
        assert len(picked.prompts) == 4 and len(set(picked.prompts)) == 4 and set(picked.prompts) <= set(first_eight)
        assert picked == pooled.draw(event, "clip", 1, epoch=epoch)  # deterministic
        seen_pooled |= set(picked.prompts)
        seen_free |= set(free.draw(event, "clip", 1, epoch=epoch).prompts)
    assert seen_pooled == set(first_eight) and len(seen_free) > 8
    assert pooled.draw(event, "clip", 1) == free.draw(event, "clip", 1)  # the fixed draw is unchanged
    with pytest.raises(ValueError, match="pool_size"):
        NegativeSampler(lexicon, 4, 0, pool_size=2)


def test_a_pool_never_reaches_a_fill_level_the_fixed_draw_did_not_need():
    talk = parse_event(REAL_LOOKING_EVENTS[2])  # Arg0 + Arg2: speak fits fully, jog and walk only at level 1
    speak = real_event("speak (talk)", "speak.01", [("Arg0 (speaker, agent)", "a"), ("Arg2 (listener)", "b")])
    lexicon = _lexicon(REAL_LOOKING_EVENTS[2], _jog(), speak, PAPER_EVENT)
    sampler = NegativeSampler(lexicon, 1, 0, pool_size=3)
    for epoch in range(10):
        draw = sampler.draw(talk, "clip", 0, epoch=epoch)
        assert draw.fill_level == 0 and draw.prompts[0].startswith("In this photo, the action is speak")
