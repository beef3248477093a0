"""Everything the toy world says in words: VidSitu annotations, SRL prompts, web-style and natural captions.

Three registers, on purpose:

- **Web-style captions** (what the base CLIP is pretrained on, and the MSR-VTT-style retrieval queries): the visible
  objects, their colours (sizes sometimes), the scene and sometimes a loose action word — in random order, with no
  role structure (``"park, small blue square, a red circle, chasing"``). Nothing in them says who does what to whom,
  and the exact verb appears in only about a quarter of them: the bag-of-words captions that make real CLIP weak at
  binding.
- **SRL prompts** (what FiGCLIP is trained on): the paper's rule-based template over the VidSitu annotation
  (``"In this photo, the action is chase where, the chaser is big red circle, the thing chased is small blue square,
  direction is left, and scene of the event is park."``).
- **Natural captions** (ARO/SugarCrepe-style test captions): ``"the big red circle chases the small blue square in
  the park"``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Optional

import numpy as np

from dataset_scripts.vidsitu.prompts import join_prompt, parse_role_key, role_clause

from .grammar import (
    COLOURS,
    DIRECTION,
    LINEAR_DIRECTIONS,
    MANNERS,
    SCENE_KEY,
    SCENES,
    SHAPES,
    SIZES,
    VERBS,
    ClipSpec,
    EventSpec,
    Verb,
)

GENERIC_WEB_WORDS = ("action", "playing", "fun", "cartoon", "shapes")
#: Alt-text noise. Appended to some captions so that caption lengths vary, as on the web. It includes the loose
#: phrases real alt-text is full of ("in this photo", "an event"): every word of the SRL prompt template must occur
#: somewhere in the web corpus — as every English word occurs in CLIP's 400M captions — or the frozen text encoder
#: meets it for the first time in a FiGCLIP prompt, with an untrained embedding. None of them says who does what.
WEB_FILLERS = ("stock photo", "cartoon illustration", "vector art", "kids animation", "free download",
               "hd wallpaper", "simple shapes", "colorful", "funny", "cute", "high quality", "image",
               "in this photo", "this photo", "the action", "an event", "the event", "action scene", "where")
WEB_FILLER_COUNTS = (0, 0, 0, 0, 1, 1, 2, 3, 6, 10)
WEB_SCENE_PHRASES = ("in the {}", "at the {}", "{}", "{} background", "scene of the event is {}", "the scene is {}")
WEB_SEPARATORS = (", ", " and ", " ")
WEB_FULL_STOP_PROBABILITY = 0.3
#: How a web caption may mention a motion modifier: bare, or as loose "attribute is value" tags.
WEB_MODIFIER_PHRASES = ("{value}", "{value}", "{name} is {value}", "{name} {value}")


# ---------------------------------------------------------------------------------------------------------------------
# VidSitu annotations
# ---------------------------------------------------------------------------------------------------------------------
def event_args(clip: ClipSpec, event: EventSpec) -> list[tuple[str, str]]:
    """The event's roles as ``(official key, value)`` in ``Arg_List`` order: numbered args, modifiers, scene."""
    verb = event.verb
    roles = [(key, clip.cast[i].noun_phrase) for key, i in zip(verb.arg_keys, event.participants)]
    roles += [(f"ArgM ({name})", value) for name, value in event.modifiers]
    roles.append((SCENE_KEY, clip.scene))
    return roles


def vidsitu_event(clip: ClipSpec, event_index: int, vid_uid: str) -> dict:
    """One event as it appears in ``vsann_*_lb.json`` (official keys; ``EvRel`` absent on Ev3)."""
    event = clip.events[event_index]
    roles = event_args(clip, event)
    record = {
        "vid_uid": vid_uid,
        "vid_seg_int": clip.clip_id,
        "Verb": event.verb.verb_string,
        "VerbID": event.verb_id,
        "Args": {key: value for key, value in roles},
        "Arg_List": {key: str(position) for position, (key, _) in enumerate(roles)},
    }
    if event.evrel is not None:
        record["EvRel"] = event.evrel
    return record


# ---------------------------------------------------------------------------------------------------------------------
# SRL prompts (paper §2) and verb-role swaps (paper §5)
# ---------------------------------------------------------------------------------------------------------------------
def srl_prompt_from_roles(verb_lemma: str, roles: list[tuple[str, str]]) -> str:
    """The paper's template over ``(official key, value)`` roles, built with the VidSitu builder's own rules
    (`dataset_scripts.vidsitu.prompts`, T1–T5), so benchmark captions read exactly like the training prompts."""
    clauses = []
    for key, value in roles:
        spec = parse_role_key(key)
        if spec is None:
            raise ValueError(f"not a VidSitu role key: {key!r}")
        clauses.append(role_clause(spec.short, spec.description, value))
    return join_prompt(verb_lemma, clauses)


def world_srl_prompt(clip: ClipSpec, event: EventSpec) -> str:
    """The SRL prompt FiGCLIP trains on, for one event of the toy world."""
    return srl_prompt_from_roles(event.verb.lemma, event_args(clip, event))


def role_swapped_srl_prompt(clip: ClipSpec, event: EventSpec) -> str:
    """The prompt with the two numbered roles' fillers exchanged ("the chaser is B, the thing chased is A")."""
    roles = event_args(clip, event)
    if len(event.participants) != 2:
        raise ValueError(f"{event.verb_id} has one participant: nothing to swap")
    (key0, value0), (key1, value1) = roles[:2]
    return srl_prompt_from_roles(event.verb.lemma, [(key0, value1), (key1, value0), *roles[2:]])


def verb_swapped_srl_prompt(clip: ClipSpec, event: EventSpec, other: Verb) -> str:
    """A verb-role swap: `other` verb and its own role names, same fillers, modifiers and scene kept verbatim.

    The same rule as the builder's training negatives (paper §5, walk/walker → jog/jogger): chase/chaser →
    push/pusher.
    """
    roles = event_args(clip, event)
    if len(other.arg_keys) != len(event.participants):
        raise ValueError(f"{other.verb_id} does not take {len(event.participants)} numbered arguments")
    swapped = [(key, value) for key, (_, value) in zip(other.arg_keys, roles)]
    return srl_prompt_from_roles(other.lemma, swapped + roles[len(other.arg_keys) :])


# ---------------------------------------------------------------------------------------------------------------------
# Natural captions
# ---------------------------------------------------------------------------------------------------------------------
DIRECTION_PHRASES = {
    "left": "to the left", "right": "to the right", "up": "upward", "down": "downward",
    "clockwise": "clockwise", "counterclockwise": "counterclockwise",
}


def natural_caption(clip: ClipSpec, event: EventSpec, verb: Optional[Verb] = None, swap_roles: bool = False,
                    with_modifiers: bool = False) -> str:
    """``"the big red circle chases the small blue square in the park"`` (ARO/SugarCrepe-style, lower case).

    Args:
        verb: say this verb instead of the event's (SugarCrepe's replace-rel negatives).
        swap_roles: exchange the two participants (ARO VG-Relation's false captions).
        with_modifiers: add manner and direction ("… quickly chases … to the left …"), used by the order benchmark.
    """
    verb = verb or event.verb
    names = [clip.cast[i].noun_phrase for i in event.participants]
    if swap_roles:
        names = names[::-1]
    manner = event.modifier("manner") if with_modifiers else None
    direction = event.modifier(DIRECTION) if with_modifiers else None
    words = ["the", names[0]]
    if manner:
        words.append(manner)
    words.append(verb.third_person)
    if len(names) == 2:
        words += ["the", names[1]]
    if direction:
        words.append(DIRECTION_PHRASES[direction])
    words += ["in", "the", clip.scene]
    return " ".join(words)


def attribute_caption(clip: ClipSpec, order: tuple[int, int], swap: Optional[str] = None) -> str:
    """``"the big red circle and the small blue square"``; `swap` = ``"colour"``/``"size"`` exchanges that attribute."""
    first, second = (clip.cast[i] for i in order)
    attrs = [[first.size, first.colour, first.shape], [second.size, second.colour, second.shape]]
    if swap is not None:
        slot = {"size": 0, "colour": 1}[swap]
        attrs[0][slot], attrs[1][slot] = attrs[1][slot], attrs[0][slot]
    return f"the {' '.join(attrs[0])} and the {' '.join(attrs[1])}"


# ---------------------------------------------------------------------------------------------------------------------
# Web-style captions
# ---------------------------------------------------------------------------------------------------------------------
def _web_entity(rng: np.random.Generator, entity) -> str:
    words = [entity.colour, entity.shape]
    if rng.random() < 0.5:
        words.insert(0, entity.size)
    if rng.random() < 0.4:
        words.insert(0, "a")
    return " ".join(words)


def web_caption(clip: ClipSpec, rng: np.random.Generator, event: Optional[EventSpec] = None,
                action_word_probability: float = 0.5, modifier_probability: float = 0.3) -> str:
    """A loose alt-text-like caption of a frame of `event` (or of the whole clip when `event` is None).

    Parts — each visible object, the scene, with `action_word_probability` one word about the action (its verb,
    a loose -ing word, one of its role nouns such as "chaser" or "thing pushed", or a generic word) and with
    `modifier_probability` one of its modifiers ("quickly", "direction is left") — are put in random order and joined
    by a random separator; some captions end with a run of alt-text noise (`WEB_FILLERS`) and some with a full stop.
    Role nouns are never attached to an object: the captions name what is there and roughly what happens, never who
    does what to whom.

    Why the prompt's words are in here at all (measured with `recipes/toy/diagnose_vocabulary.py` and full default
    runs): when the web captions held only objects, scene and an action word, 33 of the words of the SRL prompts —
    ``is``, ``this``, ``where``, ``of``, ``scene``, ``event``, ``direction``, ``left``, ``quickly``, every role noun —
    never occurred in the base's corpus, so the frozen text tower met them in FiGCLIP prompts with their random
    initial embeddings. Adapting the vision tower to those prompts then lost 46 of the base's 74.5 web R@1 points.
    Real CLIP has seen every one of those words; a stand-in for it must too.
    """
    parts = [_web_entity(rng, entity) for entity in clip.cast]
    parts.append(WEB_SCENE_PHRASES[int(rng.integers(len(WEB_SCENE_PHRASES)))].format(clip.scene))
    if event is None:  # a caption of the whole clip mentions what happens in one of its events
        event = clip.events[int(rng.integers(len(clip.events)))]
    if rng.random() < action_word_probability:
        verb = event.verb
        pool = (verb.lemma, *verb.web_words, *verb.role_descriptions) if rng.random() < 0.6 else GENERIC_WEB_WORDS
        parts.append(pool[int(rng.integers(len(pool)))])
    if event.modifiers and rng.random() < modifier_probability:
        name, value = event.modifiers[int(rng.integers(len(event.modifiers)))]
        phrase = WEB_MODIFIER_PHRASES[int(rng.integers(len(WEB_MODIFIER_PHRASES)))]
        parts.append(phrase.format(name=name, value=value))
    order = rng.permutation(len(parts))
    separator = WEB_SEPARATORS[int(rng.integers(len(WEB_SEPARATORS)))]
    fillers = [WEB_FILLERS[int(i)] for i in rng.integers(len(WEB_FILLERS), size=int(rng.choice(WEB_FILLER_COUNTS)))]
    caption = separator.join([parts[i] for i in order] + fillers)
    return caption + "." if rng.random() < WEB_FULL_STOP_PROBABILITY else caption


# ---------------------------------------------------------------------------------------------------------------------
# Vocabulary and part-of-speech tags
# ---------------------------------------------------------------------------------------------------------------------
_FUNCTION_WORDS = {
    "the": "DT", "a": "DT", "this": "DT", "in": "IN", "at": "IN", "of": "IN", "to": "TO", "and": "CC",
    "is": "VBZ", "where": "WRB", "with": "IN",
}
_OTHER_NOUNS = ("photo", "action", "scene", "event", "direction", "manner", "background", "thing", "entity", "shapes",
                "cartoon", "fun", "rope", "left", "right")


@lru_cache(maxsize=1)
def pos_tags() -> dict[str, str]:
    """Penn Treebank tags of every word of the world (what spaCy's tagger says of them in these captions)."""
    tags = dict(_FUNCTION_WORDS)
    for word in (*SHAPES, *SCENES, *_OTHER_NOUNS):
        tags[word] = "NN"
    for word in (*COLOURS, *SIZES):
        tags[word] = "JJ"
    for word in (*MANNERS, "upward", "downward", "clockwise", "counterclockwise", "up", "down"):
        tags[word] = "RB"
    for verb in VERBS.values():
        tags[verb.third_person] = "VBZ"
        tags.setdefault(verb.lemma, "VB")
        for word in verb.web_words:
            tags.setdefault(word, "VBG" if word.endswith("ing") else "NN")
        for description in verb.role_descriptions:
            for word in description.split():
                tags.setdefault(word, "VBN" if word.endswith("ed") else ("VBG" if word.endswith("ing") else "NN"))
    tags["from"] = "IN"
    tags["playing"] = "VBG"
    return tags


def pos_tagger(text: str) -> list[tuple[str, str]]:
    """A part-of-speech `Tagger` for world captions (``text -> [(token, Penn tag)]``), so the ARO order
    perturbations (`dataset_scripts.benchmarks.perturbations.TextShuffler`) run without spaCy. Whitespace tokens;
    words outside the world get ``"NN"``.
    """
    tags = pos_tags()
    return [(token, tags.get(token.lower(), "NN")) for token in text.split()]


pos_tagger.description = "dataset_scripts.toy_world.text:world_pos_tagger"  # type: ignore[attr-defined]


def world_pos_tagger():
    """Factory for the evaluators' ``--pos_tagger dataset_scripts.toy_world.text:world_pos_tagger`` option."""
    return pos_tagger


def world_vocabulary() -> list[str]:
    """Every word the world's captions and prompts use (deterministic order), for
    `modeling_figclip.tokenization_utils.build_word_level_clip_tokenizer`."""
    words = list(pos_tags())
    words += list(LINEAR_DIRECTIONS) + list(GENERIC_WEB_WORDS) + ["background", "photo", "where"]
    words += " ".join(WEB_FILLERS).split()
    words += [phrase for phrase in " ".join(DIRECTION_PHRASES.values()).split()]
    words += "in this photo the action is where scene of the event".split()
    return list(dict.fromkeys(word.lower() for word in words))
