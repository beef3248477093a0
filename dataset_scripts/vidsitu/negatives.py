"""Artificial hard negatives: verb-role swaps (paper §5).

A negative replaces the verb **and** its verb-specific role descriptions with those of another verb, and keeps
everything else::

    positive: In this photo, the action is walk where, the walker is man …, direction is forward, …
    negative: In this photo, the action is jog where, the jogger is man …, direction is forward, …

Rules (N1–N6):

- **N1** Candidates are lexicon verbs whose frame describes every numbered argument (Arg0..Arg5) the event uses, so
  each of the event's nouns gets the candidate's own description (walker → jogger). Candidates that lack one of
  those arguments are never used: keeping the positive's description ("the walker is …") would leak the positive
  verb, and dropping the role would change the nouns.
- **N2** Values (nouns) and the common roles — direction, manner, location, purpose, goal, scene — are kept
  verbatim, in the positive's order.
- **N3** A candidate with the same lemma as the positive (another sense, ``run.01`` vs ``run.02``) is skipped: its
  prompt would read the same as the positive's.
- **N4** No negative equals the positive and no two negatives are equal (checked on the final text).
- **N5** Deterministic: the candidates are sampled without replacement by ``rng``; the builder derives it from
  ``(seed, clip_id, event index)`` with `event_rng`, so the negatives do not depend on iteration order, sharding or
  the number of processes.
- **N6** **Too few candidates**: fewer than ``n`` negatives are returned (possibly none) — never padded with
  duplicates or with weaker, non-verb negatives. Consumers must mask missing negatives (row field
  ``negative_prompts`` has length ``<= num_negatives``).

With ``prompt_style="verb_only"`` the negatives are verb-only prompts of other verbs (N1 does not apply: any verb
with another lemma is a candidate). With ``prompt_style="no_template"`` (role values without the template's words,
`prompts.no_template_prompt`) a negative is the candidate's lemma with the same values, drawn from the same
candidates as the SRL negatives (N1), so the two styles differ only in wording.
"""

from __future__ import annotations

import hashlib
import random
import struct
from collections.abc import Mapping, Sequence

from .lexicon import VerbLexicon
from .prompts import join_prompt, role_clause, verb_only_prompt

PROMPT_STYLES = ("srl", "verb_only", "no_template")


class EventRandom:
    """A tiny counter-mode generator over BLAKE2b: ``random()`` floats that depend only on the key it was made from.

    Seeding a Mersenne Twister per event costs more than everything else a negative needs (VidSitu train has 118k
    events); one hash gives 4 draws — all a typical event needs — and the same guarantees: deterministic, platform-
    and version-independent, and independent across (seed, clip, event). Only ``random()`` is provided, which is all
    `verb_role_negatives` uses (it also accepts a `random.Random`).
    """

    __slots__ = ("_key", "_counter", "_buffer")
    _SCALE = 1.0 / (1 << 53)
    _WORDS = struct.Struct("<4Q")

    def __init__(self, key: bytes):
        self._key = key
        self._counter = 0
        self._buffer: list[float] = []

    def random(self) -> float:
        if not self._buffer:
            digest = hashlib.blake2b(self._key, digest_size=32, salt=self._counter.to_bytes(16, "little")).digest()
            self._counter += 1
            # 4 x 64-bit words -> 4 floats in [0, 1) with 53 random bits each (like random.random()); popped in order.
            scale = self._SCALE
            self._buffer = [(word >> 11) * scale for word in reversed(self._WORDS.unpack(digest))]
        return self._buffer.pop()


def event_rng(seed: int, clip_id: str, event_index: int) -> EventRandom:
    """The generator of one event's negatives: depends only on ``(seed, clip_id, event_index)`` — not on Python's
    salted `hash`, the iteration order, sharding or the number of processes."""
    return EventRandom(f"{seed}\x1f{clip_id}\x1f{event_index}".encode())


def verb_role_negatives(
    event: Mapping,
    lexicon: VerbLexicon,
    n: int = 4,
    rng: EventRandom | random.Random | int | None = None,
    prompt_style: str = "srl",
) -> list[str]:
    """Up to ``n`` verb-role-swapped negative prompts for one event (rules N1–N6 in the module docstring).

    Args:
        event: a parsed event (``verb_lemma`` and ``roles`` with ``short``/``description``/``value``), as in rows.
        lexicon: the training verb lexicon (`build_verb_lexicon`).
        n: the number of negatives wanted.
        rng: anything with a ``random()`` method (`event_rng`, `random.Random`), an int seed, or None (seed 0).
            Use `event_rng` for order-independent negatives.
        prompt_style: ``"srl"`` (full prompts), ``"verb_only"`` or ``"no_template"``.

    Returns:
        ``min(n, #usable candidates)`` distinct prompts, none equal to the positive.
    """
    if prompt_style not in PROMPT_STYLES:
        raise ValueError(f"prompt_style must be one of {PROMPT_STYLES}, got {prompt_style!r}")
    if n <= 0:
        return []
    if rng is None or isinstance(rng, int):
        rng = random.Random(rng or 0)

    lemma = event["verb_lemma"]
    if prompt_style != "verb_only":
        template, numbered = prompt_template(event["roles"], prompt_style)
        descriptions = [role["description"] for role in event["roles"] if role["short"].startswith("Arg")]
        positive = template.format(lemma, *descriptions)
    else:
        template, numbered, positive = None, (), verb_only_prompt(lemma)
    return negatives_from_template(template, numbered, lemma, positive, lexicon, n, rng)


def negatives_from_template(
    template: str | None,
    numbered: tuple[str, ...],
    lemma: str,
    positive: str,
    lexicon: VerbLexicon,
    n: int,
    rng,
) -> list[str]:
    """The sampling loop of `verb_role_negatives`, for callers that already rendered the positive with
    `srl_template` (the builder's hot path). ``template=None`` means verb-only prompts."""
    if template is not None:
        candidates = lexicon.candidates(numbered)

        def render(frame) -> str:
            return template.format(frame.lemma, *[frame.roles[short] for short in numbered])

    else:
        candidates = lexicon.frames

        def render(frame) -> str:
            return verb_only_prompt(frame.lemma)

    lemma = lemma.lower()
    negatives: list[str] = []
    seen = {positive}
    # Candidates in a uniformly random order, drawn lazily (sparse Fisher-Yates, inlined: this runs 118k times).
    total, swapped, position = len(candidates), {}, 0
    while position < total:
        other = position + int(rng.random() * (total - position))
        index = swapped.get(other, other)
        swapped[other] = swapped.get(position, position)
        position += 1
        frame = candidates[index]
        if frame.lemma_lower == lemma:  # N3
            continue
        text = render(frame)
        if text in seen:  # N4
            continue
        seen.add(text)
        negatives.append(text)
        if len(negatives) == n:
            break
    return negatives


def prompt_template(roles: Sequence[Mapping], prompt_style: str = "srl") -> tuple[str, tuple[str, ...]]:
    """`srl_template` for ``"srl"``; for ``"no_template"`` the same fields over the bare values (``"{0}, man, …"``:
    the descriptions, fields 1.., are not in the text, but the numbered arguments still pick the candidates)."""
    if prompt_style == "srl":
        return srl_template(roles)
    if prompt_style != "no_template":
        raise ValueError(f"no prompt template for prompt_style {prompt_style!r}")
    values = [_escape_braces(role["value"]) for role in roles]
    numbered = tuple(role["short"] for role in roles if role["short"].startswith("Arg"))
    return ", ".join(["{0}", *values]), numbered


def srl_template(roles: Sequence[Mapping]) -> tuple[str, tuple[str, ...]]:
    """The event's prompt as a `str.format` template with the verb lemma as field 0 and the numbered arguments'
    descriptions as fields 1.. (in role order), plus those arguments' short names in the same order. Common-role
    clauses and all values are baked in, so each negative is one ``format`` call."""
    clauses, numbered = [], []
    for role in roles:
        value = _escape_braces(role["value"])
        if role["short"].startswith("Arg"):
            numbered.append(role["short"])
            clauses.append(f"the {{{len(numbered)}}} is {value}")
        else:
            clauses.append(role_clause(role["short"], _escape_braces(role["description"]), value))
    return join_prompt("{0}", clauses), tuple(numbered)


def _escape_braces(text: str) -> str:
    """Annotation text as a literal inside a `str.format` template (a value may contain ``{`` or ``}``)."""
    return text.replace("{", "{{").replace("}", "}}")
