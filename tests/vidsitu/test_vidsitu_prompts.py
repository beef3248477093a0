"""Prompt template (T1–T5) and string-cleaning rules (V1, R1–R7) on the real strings of data_formats.md §1.4."""

import copy

import pytest
from vidsitu_fixtures import PAPER_EVENT, PAPER_PROMPT, REAL_EV1, REAL_EV3, REAL_LOOKING_EVENTS

from dataset_scripts.vidsitu import (
    VidSituFormatError,
    clean_role_description,
    clean_verb_lemma,
    no_template_prompt,
    parse_event,
    parse_role_key,
    srl_prompt,
    verb_only_prompt,
)
from dataset_scripts.vidsitu.prompts import clean_value, join_prompt


# --- V1: verb lemma ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "verb, lemma",
    [
        ("dive (to drop)", "dive"),
        ("talk (speak)", "talk"),
        ("flip (throw, turn over)", "flip"),
        ("breathe (suck air)", "breathe"),
        ("strike (hit)", "strike"),
        ("pull ((try to) cause motion)", "pull"),  # nested parenthesis
        ("choke (to have or cause to have  difficulty in breathing)", "choke"),  # double space in the gloss
        ("walk (go)", "walk"),
        ("  walk   (go)", "walk"),
        ("pick_up (lift)", "pick up"),  # PropBank multi-word lemma
        ("look at (vision)", "look at"),
        ("walk", "walk"),  # no gloss at all
    ],
)
def test_verb_lemma_is_text_before_first_parenthesis(verb, lemma):
    assert clean_verb_lemma(verb) == lemma


def test_verb_without_lemma_is_a_format_error():
    assert clean_verb_lemma("(go)") == ""
    event = copy.deepcopy(REAL_EV1)
    event["Verb"] = "(to drop)"
    with pytest.raises(VidSituFormatError, match="Verb"):
        parse_event(event)


# --- R1–R6: role keys -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key, short, description",
    [
        # numbered arguments: the verb-specific description
        ("Arg1 (thing falling)", "Arg1", "thing falling"),
        ("Arg0 (talker)", "Arg0", "talker"),
        ("Arg2 (hearer)", "Arg2", "hearer"),
        ("Arg0 (walker)", "Arg0", "walker"),
        ("Arg0 (flipper, agent)", "Arg0", "flipper"),  # R5: first non-generic alternative
        ("Arg1 (air, we hope)", "Arg1", "air"),  # R5: the annotator's aside is not the role
        ("Arg0 (agent, hitter - animate only!)", "Arg0", "hitter"),  # R3 note + R5 generic label
        ("Arg2 (DIR or attribute of arg1)", "Arg2", "direction or attribute"),  # R4
        ("Arg2 (instrument, thing hit by or with)", "Arg2", "instrument"),  # R5
        ("Arg1 (thing pulled (moved))", "Arg1", "thing pulled"),  # R2 nested aside
        ("Arg1 (thing (falling)", "Arg1", "thing falling"),  # R2 stray parenthesis dropped
        ("Arg0 (the puller)", "Arg0", "puller"),  # R6: the template already says "the"
        ("Arg0  (talker)", "Arg0", "talker"),  # double space in the key
        ("Arg4 (end  point)", "Arg4", "end point"),
        ("Arg5 (Attribute)", "Arg5", "attribute"),
        ("Arg2 (left-handed thing)", "Arg2", "left-handed thing"),  # a hyphen is not a note
        ("Arg0 (agent)", "Arg0", "agent"),  # all generic: keep the first
        # modifiers and scene
        ("ArgM (direction)", "ADir", "direction"),
        ("ArgM (purpose)", "APrp", "purpose"),
        ("ArgM (manner)", "AMnr", "manner"),
        ("ArgM (location)", "ALoc", "location"),
        ("ArgM (goal)", "AGol", "goal"),
        ("Scene of the Event", "AScn", "scene of the event"),
        ("scene of the  event", "AScn", "scene of the event"),
    ],
)
def test_role_keys(key, short, description):
    spec = parse_role_key(key)
    assert spec is not None
    assert (spec.short, spec.description) == (short, description)


@pytest.mark.parametrize(
    "key",
    [
        "ArgM (time)",  # arg_mapper raises on other ArgMs
        "ArgM (adverbial)",
        "Arg6 (thing)",
        "Arg0 ()",  # no description: cannot become a prompt
        "Arg0 (  - !)",
        "Arg0",
        "Agent",
        "Scene",
        "",
    ],
)
def test_unknown_role_keys(key):
    assert parse_role_key(key) is None


def test_clean_role_description_on_raw_parenthesis_text():
    assert clean_role_description("agent, hitter - animate only!") == "hitter"
    assert clean_role_description("DIR or attribute of arg1") == "direction or attribute"
    assert clean_role_description("thrown at, to, over") == "thrown at"
    assert clean_role_description("LOC e.g. a room") == "location"


# --- R7: values ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, clean",
    [
        ("on the handly", "on the handly"),  # typo kept
        ("the man with brown hair's leg", "the man with brown hair's leg"),  # possessive kept
        ("brunette  girl ", "brunette girl"),  # double and trailing spaces
        ("\tman in\nwetsuit", "man in wetsuit"),
    ],
)
def test_values_are_verbatim_except_whitespace(raw, clean):
    assert clean_value(raw) == clean


# --- T1–T5: template --------------------------------------------------------------------------------------------------
def test_paper_example_is_reproduced_exactly():
    assert srl_prompt(PAPER_EVENT) == PAPER_PROMPT
    assert srl_prompt(parse_event(PAPER_EVENT)) == PAPER_PROMPT


def test_real_train_record_prompts():
    assert srl_prompt(REAL_EV1) == (
        "In this photo, the action is dive where, the thing falling is man in wetsuit, direction is downward, "
        "and scene of the event is lake."
    )
    assert srl_prompt(REAL_EV3) == (
        "In this photo, the action is talk where, the talker is brunette girl, the hearer is brunette boy, "
        "location is lake, and manner is casually."
    )


def test_real_looking_messy_events():
    prompts = [srl_prompt(event) for event in REAL_LOOKING_EVENTS]
    assert prompts[1] == (
        "In this photo, the action is flip where, the flipper is man in wetsuit, the thing flipped is on the handly, "
        "and scene of the event is lake."
    )
    assert prompts[3] == (
        "In this photo, the action is strike where, the hitter is brunette girl, the thing hit is the man with brown "
        "hair's leg, the instrument is bat, and manner is angrily."
    )
    assert prompts[4] == (
        "In this photo, the action is pull where, the puller is brunette boy, the thing pulled is brunette girl, "
        "the direction or attribute is out of the lake, and scene of the event is lake."
    )
    for prompt in prompts:  # nothing raw leaks into a prompt
        assert "(" not in prompt and "  " not in prompt and "Arg" not in prompt and "!" not in prompt


def test_roles_follow_arg_list_not_dict_order():
    event = copy.deepcopy(PAPER_EVENT)
    event["Args"] = dict(reversed(list(event["Args"].items())))  # insertion order reversed
    assert srl_prompt(event) == PAPER_PROMPT
    event["Arg_List"] = {"Arg0 (walker)": "3", "ArgM (direction)": "2", "ArgM (manner)": "1", "Scene of the Event": "0"}
    assert srl_prompt(event).startswith("In this photo, the action is walk where, scene of the event is apartment, ")
    assert srl_prompt(event).endswith("and the walker is man with short hair wearing collared shirt.")


def test_joining_rules():
    assert join_prompt("walk", []) == "In this photo, the action is walk."
    assert join_prompt("walk", ["the walker is man"]) == "In this photo, the action is walk where, the walker is man."
    assert join_prompt("walk", ["the walker is man", "manner is slowly"]) == (
        "In this photo, the action is walk where, the walker is man, and manner is slowly."
    )


def test_modifiers_and_scene_have_no_article():
    prompt = srl_prompt(PAPER_EVENT)
    assert ", direction is forward," in prompt and ", manner is slowly," in prompt
    assert "and scene of the event is apartment." in prompt
    assert "the direction" not in prompt


def test_no_template_prompt_keeps_the_values_in_role_order_and_drops_every_template_word():
    assert no_template_prompt(PAPER_EVENT) == "walk, man with short hair wearing collared shirt, forward, slowly, apartment"
    prompt = no_template_prompt(parse_event(REAL_LOOKING_EVENTS[4]))
    assert prompt.startswith("pull, ")
    template_words = {"photo", "action", "where", "scene", "event"}
    assert not template_words & set(prompt.replace(",", " ").split())


def test_verb_only_prompt():
    assert verb_only_prompt(PAPER_EVENT) == "In this photo, the action is walk"
    assert verb_only_prompt(parse_event(REAL_LOOKING_EVENTS[4])) == "In this photo, the action is pull"
    assert verb_only_prompt("jog") == "In this photo, the action is jog"


def test_raw_event_with_unknown_key_never_becomes_a_prompt():
    event = copy.deepcopy(PAPER_EVENT)
    event["Args"]["ArgM (time)"] = "now"
    event["Arg_List"]["ArgM (time)"] = "4"
    with pytest.raises(VidSituFormatError, match="ArgM \\(time\\)"):
        srl_prompt(event)
