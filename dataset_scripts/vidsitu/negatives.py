"""Artificial hard negatives: verb-role swaps (paper §5).

A negative replaces the verb **and** its verb-specific role descriptions with those of another verb, and keeps
everything else::

    positive: In this photo, the action is walk where, the walker is man …, direction is forward, …
    negative: In this photo, the action is jog where, the jogger is man …, direction is forward, …

Rules (N1–N8):

- **N1** Candidates are lexicon verbs whose frame describes every numbered argument (Arg0..Arg5) the event uses, so
  each of the event's nouns gets the candidate's own description (walker → jogger). Keeping the positive's
  description ("the walker is …") would leak the positive verb, and dropping the role would change the nouns.
- **N2** Values (nouns) and the common roles — direction, manner, location, purpose, goal, scene — are kept
  verbatim, in the positive's order.
- **N3** A verb with the same lemma as the positive (another sense, ``run.01`` vs ``run.02``) is never used: its
  prompt would read the same as the positive's.
- **N4** No negative equals the positive and no two negatives are equal (checked on the final text).
- **N5** Deterministic: the draw depends only on ``(seed, clip_id, event index)`` — and the epoch, when negatives are
  redrawn every epoch (`EpochNegatives`) — through `event_rng`, never on iteration order, sharding or the number of
  processes.
- **N6** Lemmas first: the replacement **lemma** is drawn uniformly (without replacement) among the candidates, then
  one of its fitting senses uniformly, so a lemma with many senses is not drawn more often.
- **N7** Filling: when fewer than ``n`` lemmas satisfy N1, the draw continues with the most compatible lemmas — those
  whose best sense misses one of the event's numbered arguments, then two, … (each level drawn as in N6). An
  argument the replacement verb's frame does not describe reads as PropBank's generic name (``the agent is …``), never
  the positive's description. So every event gets ``n`` negatives whenever the lexicon has ``n`` lemmas other than
  the positive's; the level an event needed is its *fill level* (0 = all from N1), counted in the builder's summary.
- **N8** Fewer than ``n`` negatives only when the lexicon has fewer other lemmas (a tiny lexicon); never padded with
  duplicates. Consumers mask missing negatives (row field ``negative_prompts`` has length ``<= num_negatives``).

With ``prompt_style="verb_only"`` the negatives are verb-only prompts of other lemmas (every lemma fits). With
``prompt_style="no_template"`` (role values without the template's words, `prompts.no_template_prompt`) a negative is
the replacement lemma with the same values, drawn exactly as the SRL negatives (N1, N6, N7), so the two styles differ
only in wording.
"""

from __future__ import annotations

import hashlib
import random
import struct
from collections.abc import Mapping, Sequence
from typing import NamedTuple

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


def event_rng(seed: int, clip_id: str, event_index: int, epoch: int | None = None) -> EventRandom:
    """The generator of one event's negatives: depends only on ``(seed, clip_id, event_index)`` and, for negatives
    redrawn every epoch, the ``epoch`` — not on Python's salted `hash`, the iteration order, sharding or the number of
    processes. ``epoch=None`` is the fixed draw stored in the prepared rows."""
    if epoch is None:
        return EventRandom(f"{seed}\x1f{clip_id}\x1f{event_index}".encode())
    return EventRandom(f"{seed}\x1f{epoch}\x1f{clip_id}\x1f{event_index}".encode())


class NegativeDraw(NamedTuple):
    """One event's negatives and the fill level they needed (rule N7): 0 when every negative satisfies N1, ``k``
    when some replacement verb's frame misses ``k`` of the event's numbered arguments; None when the lexicon had
    fewer than ``n`` other lemmas (N8)."""

    prompts: list[str]
    fill_level: int | None


def verb_role_negatives(
    event: Mapping,
    lexicon: VerbLexicon,
    n: int = 4,
    rng: EventRandom | random.Random | int | None = None,
    prompt_style: str = "srl",
) -> list[str]:
    """Up to ``n`` verb-role-swapped negative prompts for one event (rules N1–N8 in the module docstring).

    Args:
        event: a parsed event (``verb_lemma`` and ``roles`` with ``short``/``description``/``value``), as in rows.
        lexicon: the training verb lexicon (`build_verb_lexicon`).
        n: the number of negatives wanted.
        rng: anything with a ``random()`` method (`event_rng`, `random.Random`), an int seed, or None (seed 0).
            Use `event_rng` for order-independent negatives.
        prompt_style: ``"srl"`` (full prompts), ``"verb_only"`` or ``"no_template"``.

    Returns:
        ``min(n, #other lemmas)`` distinct prompts, none equal to the positive.
    """
    return draw_negatives(event, lexicon, n, rng, prompt_style).prompts


def draw_negatives(
    event: Mapping,
    lexicon: VerbLexicon,
    n: int = 4,
    rng: EventRandom | random.Random | int | None = None,
    prompt_style: str = "srl",
) -> NegativeDraw:
    """`verb_role_negatives` with the fill level of the draw (see `NegativeDraw`)."""
    if prompt_style not in PROMPT_STYLES:
        raise ValueError(f"prompt_style must be one of {PROMPT_STYLES}, got {prompt_style!r}")
    if rng is None or isinstance(rng, int):
        rng = random.Random(rng or 0)
    template, numbered, positive = positive_template(event, prompt_style)
    return negatives_from_template(template, numbered, event["verb_lemma"], positive, lexicon, n, rng)


def positive_template(event: Mapping, prompt_style: str) -> tuple[str | None, tuple[str, ...], str]:
    """``(template, numbered, positive prompt)`` of an event: the `prompt_template` of its roles (None for verb-only
    prompts) and the positive rendered from it, which is the event's ``prompt`` in that style."""
    lemma = event["verb_lemma"]
    if prompt_style == "verb_only":
        return None, (), verb_only_prompt(lemma)
    template, numbered = prompt_template(event["roles"], prompt_style)
    descriptions = [role["description"] for role in event["roles"] if role["short"].startswith("Arg")]
    return template, numbered, template.format(lemma, *descriptions)


def negatives_from_template(
    template: str | None,
    numbered: tuple[str, ...],
    lemma: str,
    positive: str,
    lexicon: VerbLexicon,
    n: int,
    rng,
    max_level: int | None = None,
) -> NegativeDraw:
    """The sampling loop of `draw_negatives` (rules N3, N4, N6–N8), for callers that already rendered the positive
    with `positive_template` (the builder's hot path). ``template=None`` means verb-only prompts. ``max_level``
    stops the draw after that fill level (`NegativeSampler`'s pools use it)."""
    if n <= 0:
        return NegativeDraw([], 0)
    if template is not None:
        levels = lexicon.lemma_levels(numbered)
        render = template.format
    else:
        levels = lexicon.lemma_levels(())

        def render(verb_lemma: str) -> str:
            return verb_only_prompt(verb_lemma)

    lemma = lemma.lower()
    negatives: list[str] = []
    seen = {positive}
    for level, lemmas in enumerate(levels):
        if max_level is not None and level > max_level:
            break
        # Lemmas of this level in a uniformly random order, drawn lazily (sparse Fisher-Yates, inlined: this runs
        # ~118k times per epoch on VidSitu), then one of the lemma's senses uniformly (N6).
        total, swapped, position = len(lemmas), {}, 0
        while position < total:
            other = position + int(rng.random() * (total - position))
            index = swapped.get(other, other)
            swapped[other] = swapped.get(position, position)
            position += 1
            lemma_lower, senses = lemmas[index]
            if lemma_lower == lemma:  # N3
                continue
            arguments = senses[0] if len(senses) == 1 else senses[int(rng.random() * len(senses))]
            text = render(*arguments)
            if text in seen:  # N4
                continue
            seen.add(text)
            negatives.append(text)
            if len(negatives) == n:
                return NegativeDraw(negatives, level)
    return NegativeDraw(negatives, None)


class NegativeSampler:
    """Draws the negatives of any event with one lexicon, count, seed and prompt style (rules N1–N8).

    ``draw(event, clip_id, index)`` is the fixed draw the builder stores in the rows; ``draw(..., epoch=e)`` is the
    paper's fresh draw for epoch ``e`` (`EpochNegatives` uses it during training). Both are pure functions of their
    arguments, so exact resume and multi-process equality hold.

    ``pool_size`` (0: off, the paper's unrestricted draw) bounds how many distinct negatives an event ever gets: each
    epoch picks ``num_negatives`` uniformly from the event's fixed pool of ``pool_size`` (the first ``pool_size`` of
    its fixed draw, never from a fill level the fixed draw did not need). Every string of the pool is then embedded by
    the frozen text tower once, and a warm text-embedding cache makes later epochs' negatives free; without a pool
    almost every epoch's negatives are new strings (measured: `benchmarks/bench_fresh_negatives.py`).
    """

    def __init__(
        self,
        lexicon: VerbLexicon,
        num_negatives: int = 4,
        seed: int = 0,
        prompt_style: str = "srl",
        pool_size: int = 0,
    ):
        if prompt_style not in PROMPT_STYLES:
            raise ValueError(f"prompt_style must be one of {PROMPT_STYLES}, got {prompt_style!r}")
        if pool_size and pool_size < num_negatives:
            raise ValueError(f"pool_size must be 0 (no pool) or >= num_negatives ({num_negatives}), got {pool_size}")
        self.lexicon = lexicon
        self.num_negatives = num_negatives
        self.seed = seed
        self.prompt_style = prompt_style
        self.pool_size = pool_size

    def draw(self, event: Mapping, clip_id: str, event_index: int, epoch: int | None = None) -> NegativeDraw:
        """The negatives of event ``event_index`` of clip ``clip_id`` (fixed draw, or epoch ``epoch``'s)."""
        template, numbered, positive = positive_template(event, self.prompt_style)
        lemma, n = event["verb_lemma"], self.num_negatives
        if epoch is None or not self.pool_size:
            rng = event_rng(self.seed, clip_id, event_index, epoch)
            return negatives_from_template(template, numbered, lemma, positive, self.lexicon, n, rng)
        fixed = negatives_from_template(
            template, numbered, lemma, positive, self.lexicon, n, event_rng(self.seed, clip_id, event_index)
        )
        pool = negatives_from_template(
            template, numbered, lemma, positive, self.lexicon, self.pool_size, event_rng(self.seed, clip_id, event_index),
            max_level=fixed.fill_level,
        ).prompts
        rng = event_rng(self.seed, clip_id, event_index, epoch)
        picked = []
        for position in range(min(n, len(pool))):  # partial Fisher-Yates over the pool
            other = position + int(rng.random() * (len(pool) - position))
            pool[position], pool[other] = pool[other], pool[position]
            picked.append(pool[position])
        return NegativeDraw(picked, fixed.fill_level)

    def __repr__(self) -> str:
        return (
            f"NegativeSampler({self.lexicon!r}, num_negatives={self.num_negatives}, seed={self.seed}, "
            f"prompt_style={self.prompt_style!r}, pool_size={self.pool_size})"
        )


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
