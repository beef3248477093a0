"""Prompt template (T1–T5) and string-cleaning rules (V1, R1–R8) on the real strings of data_formats.md §1.4."""

import copy
import random
from collections import Counter
import re

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
from dataset_scripts.vidsitu.prompts import clean_value, is_empty_value, join_prompt


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
        ("Arg0 (flipper, agent)", "Arg0", "flipper"),  # R5: first non-generic alternative
        ("Arg1 (air, we hope)", "Arg1", "air"),  # R5: the annotator's aside is not the role
        ("Arg0 (agent, hitter - animate only!)", "Arg0", "hitter"),  # R3 note + R5 generic label
        ("Arg2 (DIR or attribute of arg1)", "Arg2", "direction or attribute"),  # R4
        ("Arg2 (instrument, thing hit by or with)", "Arg2", "instrument"),  # R5
        ("Arg1 (thing pulled (moved))", "Arg1", "thing pulled"),  # R2 nested aside
        ("Arg1 (thing (falling)", "Arg1", "thing falling"),  # R2 stray parenthesis dropped
        ("Arg1 ((try to) thing moved (by force))", "Arg1", "thing moved"),  # R2 nested twice
        ("Arg0 (the puller)", "Arg0", "puller"),  # R6: the template already says "the"
        ("Arg0  (talker)", "Arg0", "talker"),  # double space in the key
        ("Arg4 (end  point)", "Arg4", "end point"),
        ("Arg5 (Attribute)", "Arg5", "attribute"),
        ("Arg2 (left-handed thing)", "Arg2", "left-handed thing"),  # a hyphen is not a note
        ("Arg0 (agent)", "Arg0", "agent"),  # all generic: keep the first
        ("Arg1 thing held", "Arg1", "thing held"),  # arg_mapper only reads the first word; no parentheses needed
        # arg_mapper accepts a numbered key without a usable description: PropBank's generic name (R2)
        ("Arg0", "Arg0", "agent"),
        ("Arg1 ()", "Arg1", "patient"),
        ("Arg0 (  - !)", "Arg0", "agent"),
        ("Arg3", "Arg3", "starting point"),
        # modifiers: the substring rule, whatever the longer description; the prompt says the short word
        ("ArgM (direction)", "ADir", "direction"),
        ("ArgM (purpose)", "APrp", "purpose"),
        ("ArgM (manner)", "AMnr", "manner"),
        ("ArgM (location)", "ALoc", "location"),
        ("ArgM (goal)", "AGol", "goal"),
        ("ArgM (direction (toward the camera))", "ADir", "direction"),  # nested description
        ("ArgM (direction, e.g. up, down!)", "ADir", "direction"),  # commas and "!"
        ("ArgM  (manner)", "AMnr", "manner"),  # double space
        ("ArgM (manner, direction)", "ADir", "direction"),  # direction is tested first
        ("ArgM (locational goal)", "ALoc", "location"),  # location before goal
        ("ArgM direction", "ADir", "direction"),  # the regex group is not literal parentheses
        ("Scene of the Event", "AScn", "scene of the event"),
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
        "ArgM (Direction)",  # the substring test is case-sensitive
        "ArgM",  # nothing after "ArgM ": arg_mapper's findall(...)[0] fails
        "ArgM(direction)",  # first word is "ArgM(direction)"
        "Arg6 (thing)",
        "arg0 (talker)",  # case-sensitive
        " Arg0 (talker)",  # leading space: the first word is ""
        "Arg0(talker)",
        "Agent",
        "Scene",
        "scene of the event",  # the scene key is compared exactly
        "Scene of the Event ",
        "",
    ],
)
def test_unknown_role_keys(key):
    assert parse_role_key(key) is None


def _official_arg_mapper(key: str) -> str | None:
    """VidSitu's `utils/dat_utils.py::arg_mapper` as the issue and data_formats.md §1.4 state it, written here
    independently of the package: None where it raises."""
    first = key.split(" ")[0]
    if first in {"Arg0", "Arg1", "Arg2", "Arg3", "Arg4", "Arg5"}:
        return first
    if key == "Scene of the Event":
        return "AScn"
    if first != "ArgM":
        return None
    found = re.findall(r"ArgM (.*)", key)
    if not found:
        return None
    text = found[0].strip()
    for word, short in (("direction", "ADir"), ("purpose", "APrp"), ("manner", "AMnr"), ("location", "ALoc"), ("goal", "AGol")):
        if word in text:
            return short
    return None


def test_role_key_mapping_agrees_with_the_official_rule_on_every_form():
    pieces = ["Arg0", "Arg3", "Arg5", "Arg6", "ArgM", "argm", "Scene of the Event", "Scene", "", " ", "  ", "(",
              ")", "direction", "purpose", "manner", "location", "goal", "time", "Direction", "(x (y))", ",", "!",
              "- animate only!", "\t", "\n"]
    rng = random.Random(0)
    keys = {official_key for official_key in REAL_ROLE_KEYS}
    for _ in range(5000):
        keys.add("".join(rng.choice(pieces) + rng.choice(["", " ", "  "]) for _ in range(rng.randint(1, 4))))
    for key in sorted(keys):
        spec = parse_role_key(key)
        assert (spec.short if spec is not None else None) == _official_arg_mapper(key), key


# Role keys as they appear in the release (data_formats.md §1.4), plus the longer-description forms of the issue.
REAL_ROLE_KEYS = (
    "Arg1 (thing falling)", "ArgM (direction)", "Scene of the Event", "Arg0 (talker)", "Arg2 (hearer)",
    "ArgM (location)", "ArgM (manner)", "Arg0 (flipper, agent)", "Arg1 (air, we hope)",
    "Arg0 (agent, hitter - animate only!)", "Arg2 (DIR or attribute of arg1)", "Arg2 (instrument, thing hit by or with)",
    "ArgM (direction (toward, away))", "ArgM (purpose, reason!)", "ArgM  (manner)",
)


def test_unusable_key_is_a_strict_error_naming_the_field():
    event = copy.deepcopy(PAPER_EVENT)
    event["Args"]["arg0 (walker)"] = event["Args"].pop("Arg0 (walker)")
    event["Arg_List"]["arg0 (walker)"] = event["Arg_List"].pop("Arg0 (walker)")
    with pytest.raises(VidSituFormatError) as info:
        parse_event(event, file="vsann_train_lb.json", clip_id="c", event="Ev1")
    assert info.value.reason == "unknown_role_key" and info.value.field == "Args['arg0 (walker)']"


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


# --- R8: empty values -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["-", "", "   ", ".", "--", " - ", "?!", "\t"])
def test_empty_values_are_absent_roles_not_errors(value):
    event = copy.deepcopy(PAPER_EVENT)
    event["Args"]["ArgM (manner)"] = value
    counts = Counter()
    parsed = parse_event(event, empty_values=counts)
    assert [role["short"] for role in parsed["roles"]] == ["Arg0", "ADir", "AScn"]
    assert counts == {"AMnr": 1}
    prompt = srl_prompt(parsed)
    assert prompt == (
        "In this photo, the action is walk where, the walker is man with short hair wearing collared shirt, "
        "direction is forward, and scene of the event is apartment."
    )
    assert srl_prompt(event) == prompt  # raw events go through the same rule
    assert f" is {value.strip()}," not in prompt


@pytest.mark.parametrize("value", ["a", "7", "é", "x-ray", "-a-"])
def test_values_with_a_letter_or_digit_are_kept(value):
    assert not is_empty_value(value)


def test_event_with_every_role_empty_gets_the_verb_only_form():
    event = copy.deepcopy(PAPER_EVENT)
    event["Args"] = {key: "-" for key in event["Args"]}
    parsed = parse_event(event)
    assert parsed["roles"] == []
    assert srl_prompt(parsed) == "In this photo, the action is walk."
    assert no_template_prompt(parsed) == "walk"


def test_a_value_that_is_not_a_string_is_a_format_error():
    event = copy.deepcopy(PAPER_EVENT)
    event["Args"]["ArgM (manner)"] = None
    with pytest.raises(VidSituFormatError) as info:
        parse_event(event, file="f.json", clip_id="c", event="Ev2")
    assert (info.value.reason, info.value.field) == ("bad_value", "Args['ArgM (manner)']")


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
