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
with another lemma is a candidate).
"""

from __future__ import annotations

import hashlib
import random
from typing import Mapping, Optional, Union

from .lexicon import VerbLexicon
from .prompts import join_prompt, role_clause, verb_only_prompt

PROMPT_STYLES = ("srl", "verb_only")
# Draw a few more indices than needed so that skipped candidates (N3/N4) rarely force a full shuffle.
_SAMPLE_SLACK = 4


def event_rng(seed: int, clip_id: str, event_index: int) -> random.Random:
    """A `random.Random` that depends only on ``(seed, clip_id, event_index)`` (not on Python's salted `hash`)."""
    digest = hashlib.blake2b(f"{seed}\x1f{clip_id}\x1f{event_index}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "little"))


def verb_role_negatives(
    event: Mapping,
    lexicon: VerbLexicon,
    n: int = 4,
    rng: Union[random.Random, int, None] = None,
    prompt_style: str = "srl",
) -> list[str]:
    """Up to ``n`` verb-role-swapped negative prompts for one event (rules N1–N6 in the module docstring).

    Args:
        event: a parsed event (``verb_lemma`` and ``roles`` with ``short``/``description``/``value``), as in rows.
        lexicon: the training verb lexicon (`build_verb_lexicon`).
        n: the number of negatives wanted.
        rng: a `random.Random`, an int seed, or None (seed 0). Use `event_rng` for order-independent negatives.
        prompt_style: ``"srl"`` (full prompts) or ``"verb_only"``.

    Returns:
        ``min(n, #usable candidates)`` distinct prompts, none equal to the positive.
    """
    if prompt_style not in PROMPT_STYLES:
        raise ValueError(f"prompt_style must be one of {PROMPT_STYLES}, got {prompt_style!r}")
    if n <= 0:
        return []
    if not isinstance(rng, random.Random):
        rng = random.Random(0 if rng is None else rng)

    roles = event["roles"]
    lemma = event["verb_lemma"].lower()
    if prompt_style == "srl":
        numbered = [role["short"] for role in roles if role["short"].startswith("Arg")]
        candidates = lexicon.candidates(numbered)
        # Common-role clauses are the same for every negative: render them once.
        fixed = [None if role["short"].startswith("Arg") else role_clause(role["short"], role["description"], role["value"]) for role in roles]
        positive = join_prompt(event["verb_lemma"], [_clause(role, role["description"]) for role in roles])

        def render(frame) -> str:
            clauses = [
                clause if clause is not None else f"the {frame.roles[role['short']]} is {role['value']}"
                for clause, role in zip(fixed, roles)
            ]
            return join_prompt(frame.lemma, clauses)

    else:
        candidates = lexicon.frames
        positive = verb_only_prompt(event["verb_lemma"])

        def render(frame) -> str:
            return verb_only_prompt(frame.lemma)

    negatives: list[str] = []
    seen = {positive}
    total = len(candidates)
    drawn = rng.sample(range(total), min(total, n + _SAMPLE_SLACK))
    for order in (drawn, None):
        if order is None:  # N6 corner: too many skips among the first draws; go through the rest in random order
            if total <= len(drawn):
                break
            taken = set(drawn)
            order = [index for index in range(total) if index not in taken]
            rng.shuffle(order)
        for index in order:
            frame = candidates[index]
            if frame.lemma.lower() == lemma:  # N3
                continue
            text = render(frame)
            if text in seen:  # N4
                continue
            seen.add(text)
            negatives.append(text)
            if len(negatives) == n:
                return negatives
    return negatives


def _clause(role: Mapping, description: Optional[str]) -> str:
    return role_clause(role["short"], description, role["value"])
