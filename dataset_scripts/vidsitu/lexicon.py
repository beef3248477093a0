"""A verb-frame lexicon built from the VidSitu training annotations: VerbID → the role descriptions it uses.

VidSitu's annotation UI shows each verb's PropBank frame, so every annotation of, say, ``walk.01`` carries the same
``"Arg0 (walker)"`` key. Collecting those keys over the training set gives, for every training verb, the verb-specific
descriptions of its numbered arguments (``{"Arg0": "walker"}``) — what a verb-role negative puts in place of the
positive verb's descriptions (paper §5: walk/walker → jog/jogger). The lexicon deliberately comes from **train** only,
also when valid is loaded, so negatives never reveal evaluation verbs.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from functools import cached_property

from .schema import GENERIC_ARG_DESCRIPTIONS


@dataclass(frozen=True)
class VerbFrame:
    """One verb sense of the lexicon."""

    verb_id: str  # "walk.01"
    lemma: str  # "walk" (the cleaned text before the gloss)
    verb: str  # the most frequent raw Verb string, e.g. "walk (go)"
    #: numbered argument -> cleaned description, e.g. {"Arg0": "walker"}; modifiers and scene are not verb-specific
    roles: Mapping[str, str]
    #: number of training events with this VerbID
    count: int

    @cached_property
    def lemma_lower(self) -> str:
        """The lemma for comparisons (a negative must not reuse the positive's lemma)."""
        return self.lemma.lower()


class VerbLexicon:
    """VerbID → `VerbFrame`, with a cached index of the lemmas that fit a given set of numbered arguments."""

    def __init__(self, frames: Iterable[VerbFrame]):
        # Sorted by VerbID so that candidate lists (hence seeded negatives) do not depend on file order.
        self._frames = {frame.verb_id: frame for frame in sorted(frames, key=lambda frame: frame.verb_id)}
        self._frame_tuple = tuple(self._frames.values())
        self._levels: dict = {}
        senses: dict[str, list[VerbFrame]] = defaultdict(list)
        for frame in self._frame_tuple:
            senses[frame.lemma_lower].append(frame)
        #: lemma (lower-cased) -> its senses in VerbID order; lemmas in alphabetical order
        self._lemmas: dict[str, tuple[VerbFrame, ...]] = {lemma: tuple(senses[lemma]) for lemma in sorted(senses)}

    @classmethod
    def from_events(cls, events: Iterable[Mapping]) -> VerbLexicon:
        """Build the lexicon from parsed events (see `reader.parse_event`).

        If annotators used different descriptions for the same argument of the same VerbID (it should not happen,
        the UI fills them in), the most frequent one wins; ties go to the alphabetically first, for determinism.
        """
        counts: Counter = Counter()
        lemmas: dict[str, Counter] = defaultdict(Counter)
        verbs: dict[str, Counter] = defaultdict(Counter)
        descriptions: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
        for event in events:
            verb_id = event["verb_id"]
            counts[verb_id] += 1
            lemmas[verb_id][event["verb_lemma"]] += 1
            verbs[verb_id][event["verb"]] += 1
            for role in event["roles"]:
                if role["short"].startswith("Arg"):
                    descriptions[verb_id][role["short"]][role["description"]] += 1
        return cls(
            VerbFrame(
                verb_id=verb_id,
                lemma=_most_common(lemmas[verb_id]),
                verb=_most_common(verbs[verb_id]),
                roles={short: _most_common(c) for short, c in sorted(descriptions[verb_id].items())},
                count=count,
            )
            for verb_id, count in counts.items()
        )

    # -- mapping protocol ---------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._frames)

    def __contains__(self, verb_id: object) -> bool:
        return verb_id in self._frames

    def __getitem__(self, verb_id: str) -> VerbFrame:
        return self._frames[verb_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def get(self, verb_id: str, default: VerbFrame | None = None) -> VerbFrame | None:
        return self._frames.get(verb_id, default)

    @property
    def frames(self) -> tuple[VerbFrame, ...]:
        """All verb frames, in VerbID order."""
        return self._frame_tuple

    def role_descriptions(self, verb_id: str) -> dict[str, str]:
        """The verb-specific role descriptions of a VerbID, e.g. ``{"Arg0": "walker"}``."""
        return dict(self._frames[verb_id].roles)

    @property
    def num_lemmas(self) -> int:
        """Distinct verb lemmas (a lemma with several senses, ``run.01``/``run.02``, counts once)."""
        return len(self._lemmas)

    def lemma_levels(self, numbered_args: tuple[str, ...]) -> tuple[tuple[tuple[str, tuple[tuple[str, ...], ...]], ...], ...]:
        """Lemmas by how well they fit an event's numbered arguments (cached; see `negatives` rules N1 and N7).

        ``levels[k]`` holds one ``(lemma_lower, senses)`` pair for every lemma whose best-fitting senses describe all
        but ``k`` of ``numbered_args``; ``senses`` are those senses as ready-to-render tuples ``(lemma,
        description of numbered_args[0], …)`` (VerbID order), where an argument the sense does not describe reads as
        PropBank's generic name. Lemmas are in alphabetical order. Every lemma is at exactly one level, so
        ``sum(len(level) for level in levels) == num_lemmas``.
        """
        found = self._levels.get(numbered_args)
        if found is None:
            required = frozenset(numbered_args)
            by_level: list[list] = [[] for _ in range(len(required) + 1)]
            for lemma_lower, senses in self._lemmas.items():
                missing = [len(required.difference(frame.roles)) for frame in senses]
                best = min(missing)
                rendered = tuple(
                    (frame.lemma, *[frame.roles.get(short) or GENERIC_ARG_DESCRIPTIONS[short] for short in numbered_args])
                    for frame, count in zip(senses, missing)
                    if count == best
                )
                by_level[best].append((lemma_lower, rendered))
            found = tuple(tuple(level) for level in by_level)
            self._levels[numbered_args] = found
        return found

    # -- persistence --------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": "vidsitu-verb-lexicon/1", "verbs": [_frame_dict(frame) for frame in self._frames.values()]}

    def save(self, path: str) -> None:
        """Write the lexicon as JSON (readable by `VerbLexicon.load` and by `load_vidsitu(lexicon=path)`)."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, ensure_ascii=False, indent=1)

    @classmethod
    def load(cls, path: str) -> VerbLexicon:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return cls(VerbFrame(**{**verb, "roles": dict(verb["roles"])}) for verb in data["verbs"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerbLexicon) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"VerbLexicon({len(self)} verbs)"

    def __reduce__(self):
        # Pickle (and datasets' config hashing) only the content, not the candidate cache.
        return (VerbLexicon, (self.frames,))


def _frame_dict(frame: VerbFrame) -> dict:
    data = asdict(frame)
    data["roles"] = dict(frame.roles)
    data.pop("lemma_lower", None)
    return data


def _most_common(counter: Counter) -> str:
    return min(counter.items(), key=lambda item: (-item[1], item[0]))[0]


def build_verb_lexicon(source: str | os.PathLike | Iterable[Mapping], strict: bool = True) -> VerbLexicon:
    """Build the verb-frame lexicon from the VidSitu **training** annotations.

    Args:
        source: a data dir (containing ``vidsitu_annotations/``; its train split is read and validated), or an
            iterable of parsed events (e.g. the ``events`` of train rows).
        strict: when reading a data dir, raise on malformed records (True) or skip them (False).
    """
    if isinstance(source, (str, os.PathLike)):
        from .reader import iter_train_events, read_annotated_split, resolve_annotations_dir

        clips, _ = read_annotated_split(resolve_annotations_dir(os.fspath(source)), "train", strict=strict)
        return VerbLexicon.from_events(iter_train_events(clips))
    return VerbLexicon.from_events(source)
