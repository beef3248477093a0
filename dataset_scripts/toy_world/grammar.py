"""The grammar of the toy world: entities, scenes, verbs (PropBank-style senses with VidSitu role keys) and stories.

A clip is a 10 s story of 5 events × 2 s with a **cast** of two entities that recur in every event (VidSitu's
co-reference) in one scene. Each event has a verb:

- intransitive (one participant; the other cast member stands still, as a bystander): ``move``, ``jump``, ``spin``,
  ``grow``, ``shrink``;
- transitive (both participants, in the two numbered roles): ``chase``, ``follow``, ``push``, ``pull``,
  ``approach``, ``flee``.

Roles are keyed exactly as VidSitu keys them (``"Arg0 (chaser)"``, ``"Arg1 (thing chased)"``, ``"ArgM (direction)"``,
``"ArgM (manner)"``, ``"Scene of the Event"``), so the verb-role swap of the paper (chase/chaser → follow/follower)
works on the toy release exactly as on the real one. Who fills which role is drawn per event, so the same two entities
often swap roles within a clip ("A chases B", later "B chases A"): the natural same-video hard negatives of paper §5.

Everything is drawn from a `numpy.random.Generator` that the caller seeds per clip, so stories do not depend on the
order in which clips are generated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

# ---------------------------------------------------------------------------------------------------------------------
# Entities and scenes
# ---------------------------------------------------------------------------------------------------------------------
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "cross")
#: Saturated colours that stay visible on every scene (bodies also get a dark outline).
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (225, 35, 35),
    "blue": (40, 90, 235),
    "green": (40, 190, 60),
    "yellow": (245, 215, 35),
    "purple": (160, 60, 215),
    "orange": (250, 140, 25),
}
#: Body radius in pixels on the 64×64 canvas (the radius of the circle the shape is inscribed in); a body and its
#: marks fit in one 16-px cell of the board (see `motion`).
SIZES: dict[str, float] = {"small": 3.5, "big": 5.0}
SCENES: tuple[str, ...] = ("park", "beach", "street", "kitchen", "snow", "night")


@dataclass(frozen=True)
class Entity:
    """A recurring character: shape × colour × size."""

    shape: str
    colour: str
    size: str

    @property
    def noun_phrase(self) -> str:
        """How annotators (and prompts) name it, e.g. ``"big red circle"``."""
        return f"{self.size} {self.colour} {self.shape}"

    @property
    def radius(self) -> float:
        return SIZES[self.size]


# ---------------------------------------------------------------------------------------------------------------------
# Verbs
# ---------------------------------------------------------------------------------------------------------------------
DIRECTION, MANNER = "direction", "manner"
SCENE_KEY = "Scene of the Event"
#: Linear motion is horizontal, as in side-on shots: the tiny ViTs of the CPU demonstration learn the cues much
#: faster when a streak's orientation does not vary (measured with supervised probes; see README.md in this folder).
LINEAR_DIRECTIONS = ("left", "right")
MANNERS = ("slowly", "quickly")


@dataclass(frozen=True)
class Verb:
    """One verb sense, with the VidSitu role keys of its numbered arguments and the modifiers it takes.

    Attributes:
        verb_id: PropBank-style sense, ``lemma.NN`` (VidSitu's ``VerbID``).
        gloss: the text VidSitu puts in parentheses after the lemma in ``Verb`` (``"chase (pursue)"``).
        arg_keys: numbered-argument keys in role order; the first is filled by the first participant.
        modifiers: modifier roles (``"direction"``, ``"manner"``) → the values they can take.
        third_person: present tense, for natural captions (``"the red circle chases the blue square"``).
        web_words: loose words that web-style captions sometimes use for this action.
    """

    verb_id: str
    gloss: str
    arg_keys: tuple[str, ...]
    modifiers: tuple[tuple[str, tuple[str, ...]], ...]
    third_person: str
    web_words: tuple[str, ...]

    @property
    def lemma(self) -> str:
        return self.verb_id.split(".", 1)[0]

    @property
    def verb_string(self) -> str:
        """VidSitu's ``Verb`` field: lemma + gloss in parentheses."""
        return f"{self.lemma} ({self.gloss})"

    @property
    def transitive(self) -> bool:
        return len(self.arg_keys) == 2

    @property
    def role_descriptions(self) -> tuple[str, ...]:
        """The verb-specific role names inside the key parentheses (``"chaser"``, ``"thing chased"``)."""
        return tuple(key[key.index("(") + 1 : key.rindex(")")] for key in self.arg_keys)


def _verb(verb_id, gloss, arg_keys, modifiers, third_person, web_words) -> Verb:
    return Verb(verb_id, gloss, tuple(arg_keys), tuple(modifiers), third_person, tuple(web_words))


_LINEAR = ((DIRECTION, LINEAR_DIRECTIONS),)
VERBS: dict[str, Verb] = {
    verb.verb_id: verb
    for verb in (
        # Intransitive: a participant moves on its own; the single-frame cue is its trail / ghost outlines.
        _verb("move.01", "change location", ["Arg0 (mover)"], [*_LINEAR, (MANNER, MANNERS)], "moves",
              ["move", "moving", "going"]),
        _verb("jump.01", "leap", ["Arg0 (jumper)"], [(DIRECTION, LINEAR_DIRECTIONS), (MANNER, MANNERS)], "jumps",
              ["jump", "jumping", "hopping"]),
        _verb("spin.01", "turn around rapidly", ["Arg0 (spinner)"],
              [(DIRECTION, ("clockwise", "counterclockwise")), (MANNER, MANNERS)], "spins",
              ["spin", "spinning", "turning"]),
        _verb("grow.01", "become bigger", ["Arg1 (thing growing)"], [], "grows", ["grow", "growing", "bigger"]),
        _verb("shrink.01", "become smaller", ["Arg1 (thing shrinking)"], [], "shrinks",
              ["shrink", "shrinking", "smaller"]),
        # Transitive: who is behind / in front / moving tells the roles apart in one frame.
        _verb("chase.01", "pursue", ["Arg0 (chaser)", "Arg1 (thing chased)"], _LINEAR, "chases",
              ["chase", "chasing", "running"]),
        _verb("follow.01", "come after", ["Arg0 (follower)", "Arg1 (thing followed)"], _LINEAR, "follows",
              ["follow", "following", "walking"]),
        _verb("push.01", "press forward", ["Arg0 (pusher)", "Arg1 (thing pushed)"], _LINEAR, "pushes",
              ["push", "pushing", "moving"]),
        # The nested parenthesis is VidSitu's own gloss of pull (data_formats.md §1.4): it exercises the parsers.
        _verb("pull.01", "(try to) cause motion", ["Arg0 (puller)", "Arg1 (thing pulled)"], _LINEAR, "pulls",
              ["pull", "pulling", "rope"]),
        _verb("approach.01", "come near", ["Arg0 (approacher)", "Arg1 (thing approached)"], _LINEAR, "approaches",
              ["approach", "coming", "meeting"]),
        _verb("flee.01", "run away", ["Arg0 (entity fleeing)", "Arg1 (thing fled from)"], _LINEAR, "flees",
              ["flee", "running", "escape"]),
    )
}
INTRANSITIVE_VERBS: tuple[str, ...] = tuple(v for v, verb in VERBS.items() if not verb.transitive)
TRANSITIVE_VERBS: tuple[str, ...] = tuple(v for v, verb in VERBS.items() if verb.transitive)
#: Verbs whose single-frame cue is an in-place change (the size attribute is not reliable during grow/shrink).
IN_PLACE_VERBS = frozenset({"spin.01", "grow.01", "shrink.01"})
SIZE_CHANGING_VERBS = frozenset({"grow.01", "shrink.01"})
#: Verbs that annotators confuse, used for the 10 verb annotations per event of the valid split.
CONFUSABLE_VERBS: dict[str, tuple[str, ...]] = {
    "move.01": ("jump.01",),
    "jump.01": ("move.01",),
    "spin.01": ("move.01",),
    "grow.01": ("move.01",),
    "shrink.01": ("move.01",),
    "chase.01": ("follow.01", "move.01"),
    "follow.01": ("chase.01", "move.01"),
    "push.01": ("pull.01", "move.01"),
    "pull.01": ("push.01",),
    "approach.01": ("move.01", "chase.01"),
    "flee.01": ("move.01", "chase.01"),
}
EVENT_RELATIONS = ("Causes", "Reaction To", "Enables", "NoRel")


# ---------------------------------------------------------------------------------------------------------------------
# Stories
# ---------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventSpec:
    """One 2 s event: the verb, which cast members fill its numbered roles (in role order), and its modifiers."""

    verb_id: str
    participants: tuple[int, ...]
    modifiers: tuple[tuple[str, str], ...]
    evrel: Optional[str]
    #: seeds the event's layout (start positions, idle headings) in the renderer
    layout_seed: int

    @property
    def verb(self) -> Verb:
        return VERBS[self.verb_id]

    def modifier(self, name: str) -> Optional[str]:
        return dict(self.modifiers).get(name)


@dataclass(frozen=True)
class ClipSpec:
    """A 10 s clip: its VidSitu identifiers, cast, scene and 5 events."""

    clip_id: str  # v_{youtube_id}_seg_{start}_{end}
    youtube_id: str
    start: int
    cast: tuple[Entity, ...]
    scene: str
    events: tuple[EventSpec, ...]
    #: seeds the scene texture of this clip
    scene_seed: int
    split: str = field(default="", compare=False)

    def participants(self, event: EventSpec) -> tuple[Entity, ...]:
        return tuple(self.cast[i] for i in event.participants)


_YOUTUBE_ALPHABET = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))


def sample_youtube_id(rng: np.random.Generator) -> str:
    """An 11-character YouTube-style id (with `-`/`_` sometimes, which the official parser must handle)."""
    return "".join(rng.choice(_YOUTUBE_ALPHABET, size=11))


def sample_cast(rng: np.random.Generator, size: int = 2) -> tuple[Entity, ...]:
    """Cast members with pairwise different colours **and** shapes, so a colour or a shape alone names each one."""
    shapes = rng.choice(len(SHAPES), size=size, replace=False)
    colours = rng.choice(len(COLOURS), size=size, replace=False)
    colour_names = list(COLOURS)
    sizes = list(SIZES)
    return tuple(
        Entity(SHAPES[s], colour_names[c], sizes[int(rng.integers(len(sizes)))]) for s, c in zip(shapes, colours)
    )


def sample_event(rng: np.random.Generator, transitive_probability: float = 0.55, cast_size: int = 2) -> EventSpec:
    """An event with a uniformly drawn verb of the drawn kind; roles are assigned to the cast at random."""
    pool = TRANSITIVE_VERBS if rng.random() < transitive_probability else INTRANSITIVE_VERBS
    verb = VERBS[pool[int(rng.integers(len(pool)))]]
    participants = tuple(int(i) for i in rng.permutation(cast_size)[: len(verb.arg_keys)])
    modifiers = tuple((name, values[int(rng.integers(len(values)))]) for name, values in verb.modifiers)
    return EventSpec(verb.verb_id, participants, modifiers, None, int(rng.integers(2**31)))


def _event_relation(rng: np.random.Generator, event: EventSpec, reference: EventSpec, before: bool) -> str:
    """A plausible relation to Ev3: role reversals between the same pair read as reactions/causes."""
    reversed_roles = (
        len(event.participants) == 2 and len(reference.participants) == 2
        and event.participants == reference.participants[::-1]
    )
    if reversed_roles:
        return "Causes" if before else "Reaction To"
    return EVENT_RELATIONS[int(rng.choice(4, p=[0.3, 0.2, 0.2, 0.3]))]


def _reciprocal(rng: np.random.Generator, event: EventSpec) -> EventSpec:
    """The same action with the roles exchanged ("A chases B" → "B chases A"), in a new direction."""
    modifiers = tuple((name, values[int(rng.integers(len(values)))]) for name, values in event.verb.modifiers)
    return EventSpec(event.verb_id, event.participants[::-1], modifiers, None, int(rng.integers(2**31)))


def sample_clip(rng: np.random.Generator, split: str = "", num_events: int = 5,
                transitive_probability: float = 0.55, reciprocal_probability: float = 0.35) -> ClipSpec:
    """Draw one clip: YouTube-style id and segment, cast, scene and `num_events` events (with EvRel w.r.t. Ev3).

    Stories have turn-taking: after a two-participant event, the next one is its reciprocal ("A chases B", then "B
    chases A") with `reciprocal_probability`, as reciprocal actions between the same people are common in movie
    clips. The other events of a clip are the paper's natural hard negatives, so this is also where role binding is
    learnt from.
    """
    youtube_id = sample_youtube_id(rng)
    start = int(rng.integers(0, 12)) * 10
    cast = sample_cast(rng)
    scene = SCENES[int(rng.integers(len(SCENES)))]
    events = []
    for _ in range(num_events):
        previous = events[-1] if events else None
        if previous is not None and previous.verb.transitive and rng.random() < reciprocal_probability:
            events.append(_reciprocal(rng, previous))
        else:
            events.append(sample_event(rng, transitive_probability, len(cast)))
    reference_index = num_events // 2
    with_relations = []
    for index, event in enumerate(events):
        evrel = None if index == reference_index else _event_relation(rng, event, events[reference_index],
                                                                      before=index < reference_index)
        with_relations.append(EventSpec(event.verb_id, event.participants, event.modifiers, evrel, event.layout_seed))
    return ClipSpec(
        clip_id=f"v_{youtube_id}_seg_{start}_{start + 10}",
        youtube_id=youtube_id,
        start=start,
        cast=cast,
        scene=scene,
        events=tuple(with_relations),
        scene_seed=int(rng.integers(2**31)),
        split=split,
    )
