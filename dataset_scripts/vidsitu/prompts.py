"""Rule-based prompts from VidSitu's verb + semantic roles (paper §2), and the cleaning of raw VidSitu strings.

The paper's one verbatim example (v1, paper.md §2.1) fixes the template::

    In this photo, the action is walk where, the walker is man with short hair wearing collared shirt,
    direction is forward, manner is slowly, and scene of the event is apartment.

Template rules (T1–T5):

- **T1** Prefix ``"In this photo, the action is {verb lemma}"``.
- **T2** If the event has roles, ``" where, "`` followed by one clause per role, in ``Arg_List`` order.
- **T3** Clauses: numbered arguments read ``"the {description} is {value}"``; modifiers ``"{modifier} is {value}"``
  (``direction``/``manner``/``location``/``purpose``/``goal``, no article, as in the example); the scene
  ``"scene of the event is {value}"``.
- **T4** Clauses are joined with ``", "``; with two or more, the last one is preceded by ``"and "`` (the example's
  ``"…, manner is slowly, and scene of the event is apartment"``).
- **T5** The sentence ends with ``"."``. An event without roles is ``"In this photo, the action is {verb}."``.

The verb-only ablation prompt is ``"In this photo, the action is {verb lemma}"``, exactly as the issue writes it
(no final period).

Cleaning rules for raw strings (each is tested on the real strings quoted in data_formats.md §1.4):

- **V1** Verb lemma = text before the first ``"("`` (the annotation UI's own split), so ``"pull ((try to) cause
  motion)"`` → ``"pull"``; whitespace is collapsed and PropBank's multi-word underscores become spaces
  (``"pick_up (lift)"`` → ``"pick up"``). An empty lemma is a format error.
- **R1** Role keys map to short names exactly as VidSitu's own ``arg_mapper`` (``utils/dat_utils.py``) maps them,
  case-sensitively and without normalising the key: the first space-separated word ``Arg0``…``Arg5`` is a numbered
  argument (``"Arg0 (talker)"``, ``"Arg0  (talker)"``, even a bare ``"Arg0"``); the exact ``"Scene of the Event"`` is
  the scene; a key whose first word is ``ArgM`` is a modifier whose text after ``"ArgM "`` contains ``direction``,
  ``purpose``, ``manner``, ``location`` or ``goal`` (tested in that order), so ``"ArgM (direction (toward))"`` is
  ``ADir``. Anything else — ``"ArgM (time)"``, ``"Arg6 (…)"``, ``"arg0 (…)"``, ``"scene of the event"`` — is not a
  known role: ``arg_mapper`` raises on it, and so does the reader. A modifier's prompt phrase is its short name's word
  (``"direction is …"``), whatever the key's longer description.
- **R2** A numbered argument's description is the text after its first word: the content of its outermost
  parentheses, with nested parenthetical asides removed (glosses, not role names) and stray unbalanced parentheses
  dropped. A key with no usable description (``"Arg1"``, ``"Arg1 ()"``) reads as PropBank's generic name of that
  argument (``agent``, ``patient``, ``instrument``, ``starting point``, ``ending point``, ``attribute``).
- **R3** Annotator notes after a spaced dash are dropped: ``"hitter - animate only!"`` → ``"hitter"``.
- **R4** Capitalised PropBank function tags are spelled out (``DIR`` → ``direction``, ``LOC`` → ``location``, …) and
  references to other arguments are removed: ``"DIR or attribute of arg1"`` → ``"direction or attribute"``.
- **R5** Comma/semicolon-separated alternatives: keep the first one that is not a generic thematic label
  (``agent``, ``causer``, ``patient``, ``theme``), because the verb-specific noun is what the paper's prompts use
  (``"Arg0 (flipper, agent)"`` → ``"flipper"``, ``"Arg0 (agent, hitter - animate only!)"`` → ``"hitter"``,
  ``"Arg1 (air, we hope)"`` → ``"air"``, ``"Arg2 (instrument, thing hit by or with)"`` → ``"instrument"``). If every
  alternative is generic, the first is kept.
- **R6** Lower-case, collapse whitespace, strip surrounding punctuation, and drop a leading article (the template
  already says "the").
- **R7** Values (noun phrases) only have their whitespace collapsed: typos and possessives (``"on the handly"``,
  ``"the man with brown hair's leg"``) are kept verbatim, because changing them would change the entity (and break
  VidSitu's string-identity co-reference).
- **R8** A value with no letter or digit — ``"-"`` (how annotators mark an empty slot), ``""``, whitespace, ``"."`` —
  is not an entity: the role is treated as absent (it never reaches a prompt or a negative) and counted, not an
  error. An event whose roles are all empty reads ``"In this photo, the action is {verb}."``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, NamedTuple

from .schema import GENERIC_ARG_DESCRIPTIONS, MODIFIER_SHORT_NAMES, NUMBERED_ARGS, SCENE_KEY, SCENE_SHORT

PROMPT_PREFIX = "In this photo, the action is "
SCENE_DESCRIPTION = "scene of the event"

# R1: `arg_mapper` finds the modifier text with the regular expression "ArgM (.*)" (a group, not literal parentheses).
_ARGM_TEXT = re.compile(r"ArgM (.*)")
_INNER_PARENS = re.compile(r"\([^()]*\)")
# R3: a dash with spaces on both sides (a hyphen inside a word, "left-handed", is kept). Also "e.g."/"i.e." asides.
_NOTE = re.compile(r"\s-+\s.*$|\s*\b(?:e\.g\.|i\.e\.).*$", re.IGNORECASE)
# R4: PropBank function tags (PropBank guidelines, ArgM types), only when written as capitalised tags.
_FUNCTION_TAGS = {
    "DIR": "direction",
    "LOC": "location",
    "MNR": "manner",
    "PRP": "purpose",
    "PNC": "purpose",
    "GOL": "goal",
    "EXT": "extent",
    "TMP": "time",
    "CAU": "cause",
    "ADV": "adverbial",
}
_FUNCTION_TAG = re.compile(r"\b(" + "|".join(_FUNCTION_TAGS) + r")\b")
_ARG_REFERENCE = re.compile(r"\s*\b(?:(?:of|to|for|by|from|with|on)\s+)?arg\s?[0-5]\b", re.IGNORECASE)
_ALTERNATIVES = re.compile(r"[,;]")
# R5: PropBank appends these proto-role labels to many frames; they carry no verb-specific meaning.
_GENERIC_LABELS = frozenset({"agent", "causer", "patient", "theme"})
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_EDGE_PUNCT = " ,;:.!?-'\"`"
# R8: any Unicode letter or digit ("\w" without the underscore), as str.isalnum counts them.
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


def collapse_whitespace(text: str) -> str:
    """Collapse runs of whitespace (VidSitu has double spaces, e.g. in the `choke` gloss) and strip the ends."""
    return " ".join(text.split())  # str.split() splits on every Unicode whitespace run; faster than a regex


def clean_verb_lemma(verb: str) -> str:
    """Rule V1: the lemma of a raw VidSitu ``Verb`` string (``"pull ((try to) cause motion)"`` → ``"pull"``).

    Returns ``""`` when nothing is left (the reader turns that into a format error).
    """
    return collapse_whitespace(verb.split("(", 1)[0].replace("_", " "))


def clean_value(value: str) -> str:
    """Rule R7: a role value with its whitespace collapsed, otherwise verbatim."""
    return collapse_whitespace(value)


def is_empty_value(value: str) -> bool:
    """Rule R8: a value with no letter or digit (``"-"``, ``""``, whitespace, ``"."``) marks an empty role slot."""
    return _LETTER_OR_DIGIT.search(value) is None


def clean_role_description(text: str) -> str:
    """Rules R2–R6 on the text inside a numbered argument's parentheses (e.g. ``"agent, hitter - animate only!"``).

    Returns ``""`` when nothing meaningful is left.
    """
    # R2: remove nested asides innermost-first, so "(a (b) c)" disappears completely.
    previous = None
    while previous != text:
        previous, text = text, _INNER_PARENS.sub(" ", text)
    text = text.replace("(", " ").replace(")", " ")  # unbalanced leftovers carry no meaning
    text = _NOTE.sub("", collapse_whitespace(text))  # R3
    text = _FUNCTION_TAG.sub(lambda match: _FUNCTION_TAGS[match.group(1)], text)  # R4
    text = _ARG_REFERENCE.sub("", text)
    alternatives = [_tidy(part) for part in _ALTERNATIVES.split(text)]  # R5
    alternatives = [part for part in alternatives if part]
    if not alternatives:
        return ""
    specific = [part for part in alternatives if part not in _GENERIC_LABELS]
    return (specific or alternatives)[0]


def _tidy(text: str) -> str:
    """R6 on one alternative."""
    text = collapse_whitespace(text.lower()).strip(_EDGE_PUNCT)
    return collapse_whitespace(_LEADING_ARTICLE.sub("", text)).strip(_EDGE_PUNCT)


class RoleSpec(NamedTuple):
    """What a raw role key means: its short name (VidSitu `arg_mapper`) and the description used in prompts."""

    short: str
    description: str

    @property
    def is_numbered(self) -> bool:
        """Numbered arguments (Arg0..Arg5) are verb-specific; modifiers and the scene are common roles."""
        return self.short.startswith("Arg")


def official_role_short_name(key: str) -> str | None:
    """Rule R1: the short name VidSitu's ``arg_mapper`` gives a raw role key, or None where it raises.

    ``"Arg0 (talker)"`` → ``"Arg0"``; ``"ArgM (direction (toward))"`` → ``"ADir"``; ``"Scene of the Event"`` →
    ``"AScn"``; ``"ArgM (time)"``, ``"arg0 (x)"``, ``"Arg6 (x)"`` → None.
    """
    first_word = key.split(" ")[0]
    if first_word in NUMBERED_ARGS:
        return first_word
    if key == SCENE_KEY:
        return SCENE_SHORT
    if first_word != "ArgM":
        return None
    match = _ARGM_TEXT.search(key)
    if match is None:  # a bare "ArgM": arg_mapper's findall(...)[0] fails
        return None
    text = match.group(1).strip()
    for word, short in MODIFIER_SHORT_NAMES.items():  # dict order is arg_mapper's test order
        if word in text:
            return short
    return None


_MODIFIER_WORDS = {short: word for word, short in MODIFIER_SHORT_NAMES.items()}


@cache
def parse_role_key(key: str) -> RoleSpec | None:
    """Rules R1–R6: parse a raw role key, or return None if VidSitu's ``arg_mapper`` would reject it.

    ``"Arg0 (agent, hitter - animate only!)"`` → ``RoleSpec("Arg0", "hitter")``;
    ``"ArgM (direction (toward the camera))"`` → ``RoleSpec("ADir", "direction")``;
    ``"Scene of the Event"`` → ``RoleSpec("AScn", "scene of the event")``;
    ``"Arg1"`` → ``RoleSpec("Arg1", "patient")`` (no description: PropBank's generic name).
    Cached, because a few thousand distinct keys are repeated ~10^5 times in the training file.
    """
    short = official_role_short_name(key)
    if short is None:
        return None
    if short == SCENE_SHORT:
        return RoleSpec(SCENE_SHORT, SCENE_DESCRIPTION)
    if short in _MODIFIER_WORDS:
        return RoleSpec(short, _MODIFIER_WORDS[short])
    description = clean_role_description(_parenthesised(key[len(short) :]))
    return RoleSpec(short, description or GENERIC_ARG_DESCRIPTIONS[short])


def _parenthesised(text: str) -> str:
    """R2: the content of the outermost parentheses of ``" (…)"`` (the whole text when it is not parenthesised)."""
    text = text.strip()
    closing = text.rfind(")")
    if text.startswith("(") and closing > 0:
        return text[1:closing]
    return text


def role_clause(short: str, description: str, value: str) -> str:
    """Rule T3: one role as a clause of the prompt."""
    if short.startswith("Arg"):
        return f"the {description} is {value}"
    return f"{description} is {value}"


def join_prompt(verb_lemma: str, clauses: Sequence[str]) -> str:
    """Rules T1, T2, T4, T5: assemble the prompt from the verb and the role clauses."""
    if not clauses:
        return f"{PROMPT_PREFIX}{verb_lemma}."
    if len(clauses) == 1:
        return f"{PROMPT_PREFIX}{verb_lemma} where, {clauses[0]}."
    return f"{PROMPT_PREFIX}{verb_lemma} where, {', '.join(clauses[:-1])}, and {clauses[-1]}."


EventLike = Mapping[str, Any]


def _as_parsed_event(event: EventLike) -> EventLike:
    """Accept either one of our rows' events or a raw official event dict (``{"Verb": …, "Args": …}``)."""
    if "Verb" in event and "verb_lemma" not in event:
        from .reader import parse_event  # local import: reader depends on this module

        return parse_event(event)
    return event


def srl_prompt(event: EventLike) -> str:
    """The paper's rule-based SRL prompt of one event.

    Args:
        event: an event of a `load_vidsitu` row (``verb_lemma`` + ``roles`` with ``short``/``description``/``value``),
            or a raw official event dict (``Verb``, ``Args``, ``Arg_List``), which is parsed and validated first.

    Returns:
        e.g. ``"In this photo, the action is walk where, the walker is man with short hair wearing collared shirt,
        direction is forward, manner is slowly, and scene of the event is apartment."``
    """
    event = _as_parsed_event(event)
    clauses = [_clause_of(role) for role in event["roles"]]
    return join_prompt(event["verb_lemma"], clauses)


def _clause_of(role: Mapping[str, str]) -> str:
    description = role.get("description")
    if description is None:  # a role dict without the cleaned description: derive it from the raw key
        spec = parse_role_key(role["key"])
        if spec is None:
            raise ValueError(f"Unknown VidSitu role key {role['key']!r}")
        description = spec.description
    return role_clause(role["short"], description, role["value"])


def no_template_prompt(event: EventLike) -> str:
    """The no-template ablation prompt: the verb lemma and the role values in role order, comma-separated, with
    none of the template's words (``"walk, man with short hair wearing collared shirt, forward, slowly,
    apartment"``).

    It carries the same annotation as `srl_prompt` (which value fills which role is given by position only) in the
    register of web alt-text; the ablation asks how much of what FiGCLIP learns, and forgets, comes from the
    template's wording.

    Args:
        event: an event (parsed or raw, see `srl_prompt`).
    """
    event = _as_parsed_event(event)
    return ", ".join([event["verb_lemma"], *(role["value"] for role in event["roles"])])


def verb_only_prompt(event_or_lemma: EventLike | str) -> str:
    """The verb-only ablation prompt, ``"In this photo, the action is {verb}"``.

    Args:
        event_or_lemma: an event (parsed or raw, see `srl_prompt`) or a verb lemma.
    """
    if isinstance(event_or_lemma, str):
        return f"{PROMPT_PREFIX}{event_or_lemma}"
    return f"{PROMPT_PREFIX}{_as_parsed_event(event_or_lemma)['verb_lemma']}"
