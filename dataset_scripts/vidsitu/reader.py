"""Read and validate the official VidSitu annotation files.

Parsing turns one raw event (``{"Verb", "VerbID", "Args", "Arg_List", "EvRel", …}``) into the event dict used in
our rows::

    {"verb": raw Verb, "verb_lemma": …, "verb_id": …, "evrel": str | None,
     "roles": [{"key": raw key, "short": "Arg0", "description": "walker", "value": "man …"}, …]}  # Arg_List order

Every problem raises `VidSituFormatError` naming file, clip, event and field. Whether that error stops the build
(strict) or skips the record and counts it (lenient) is decided by `IssueLog`, in one place.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .prompts import clean_value, clean_verb_lemma, is_empty_value, parse_role_key
from .schema import (
    EVENT_NAMES,
    EVREL_VALUES,
    TRAIN,
    VALID,
    VidSituFormatError,
    split_file,
    vinfo_file,
    vsann_file,
)

_EVRELS = frozenset(EVREL_VALUES)


def _is_mapping(value: Any) -> bool:
    # json gives dicts; `isinstance(x, Mapping)` goes through the ABC machinery and dominated the parse time.
    return type(value) is dict or isinstance(value, Mapping)


# The official loader encodes Ev3's missing relation as "Null"; we use None for it.
_NO_EVREL = (None, "", "Null")


# ---------------------------------------------------------------------------------------------------------------------
# Events and annotations
# ---------------------------------------------------------------------------------------------------------------------
def parse_event(
    raw: Mapping[str, Any],
    *,
    file: str | None = None,
    clip_id: str | None = None,
    event: str | None = None,
    empty_values: Counter | None = None,
) -> dict:
    """Validate one raw VidSitu event and return it parsed (see the module docstring for the output).

    A role whose value is empty (``"-"``, whitespace, no letter or digit: `prompts.is_empty_value`) is how annotators
    mark an empty slot: it is left out of ``roles`` and counted in ``empty_values`` (by short name), not an error.

    Raises:
        VidSituFormatError: a missing/empty ``Verb``/``VerbID``, ``Args`` and ``Arg_List`` that disagree or have
            non-integer/duplicate positions, a role key that VidSitu's ``arg_mapper`` rejects, a value that is not a
            string, or an ``EvRel`` outside Causes / Reaction To / Enables / NoRel.
    """

    def fail(problem: str, field_name: str, reason: str) -> VidSituFormatError:
        return VidSituFormatError(problem, file=file, clip_id=clip_id, event=event, field=field_name, reason=reason)

    if not _is_mapping(raw):
        raise fail(f"expected an event object, got {type(raw).__name__}", "event", "bad_record")
    verb = raw.get("Verb")
    if not isinstance(verb, str) or not verb.strip():
        raise fail(f"missing or empty verb: {verb!r}", "Verb", "missing_field")
    verb_lemma = clean_verb_lemma(verb)
    if not verb_lemma:
        raise fail(f"no verb lemma before the gloss in {verb!r}", "Verb", "bad_verb")
    verb_id = raw.get("VerbID")
    if not isinstance(verb_id, str) or not verb_id.strip():
        raise fail(f"missing or empty VerbID: {verb_id!r}", "VerbID", "missing_field")

    args, arg_list = raw.get("Args"), raw.get("Arg_List")
    if not _is_mapping(args):
        raise fail(f"expected an object of role -> value, got {args!r}", "Args", "missing_field")
    if not _is_mapping(arg_list):
        raise fail(f"expected an object of role -> position, got {arg_list!r}", "Arg_List", "missing_field")
    if args.keys() != arg_list.keys():
        raise fail(
            f"Args and Arg_List name different roles: {sorted(set(args) ^ set(arg_list))}", "Arg_List", "bad_arg_list"
        )
    positions = {}
    for key, position in arg_list.items():
        try:
            positions[key] = int(position)
        except (TypeError, ValueError):
            raise fail(f"position {position!r} is not an integer", f"Arg_List[{key!r}]", "bad_arg_list") from None
    if len(set(positions.values())) != len(positions):
        raise fail(f"duplicate positions {sorted(positions.values())}", "Arg_List", "bad_arg_list")

    roles = []
    for key in sorted(positions, key=positions.__getitem__):  # dat_loader.get_vb_arg_data's order
        spec = parse_role_key(key) if isinstance(key, str) else None
        if spec is None:
            raise fail(
                "not a known argument (Arg0..Arg5 with a description) or modifier (ArgM direction/purpose/manner/"
                "location/goal, 'Scene of the Event')",
                f"Args[{key!r}]",
                "unknown_role_key",
            )
        value = args[key]
        if not isinstance(value, str):
            raise fail(f"expected a noun phrase (string), got {value!r}", f"Args[{key!r}]", "bad_value")
        if is_empty_value(value):
            if empty_values is not None:
                empty_values[spec.short] += 1
            continue
        value = clean_value(value)
        roles.append({"key": key, "short": spec.short, "description": spec.description, "value": value})

    evrel = raw.get("EvRel")
    if evrel in _NO_EVREL:
        evrel = None
    elif evrel not in _EVRELS:
        raise fail(f"unknown event relation {evrel!r}; expected one of {EVREL_VALUES}", "EvRel", "unknown_evrel")
    return {"verb": verb, "verb_lemma": verb_lemma, "verb_id": verb_id.strip(), "roles": roles, "evrel": evrel}


def annotation_clip_id(raw: Any) -> str | None:
    """The clip id of one raw annotation (the ``vid_seg_int`` of its first event that has one)."""
    if _is_mapping(raw):
        for name in EVENT_NAMES:
            event = raw.get(name)
            if _is_mapping(event) and isinstance(event.get("vid_seg_int"), str):
                return event["vid_seg_int"]
    return None


def parse_annotation(
    raw: Any, *, file: str | None = None, empty_values: Counter | None = None
) -> tuple[str, list[dict]]:
    """Validate one annotator's annotation of one clip (``{"Ev1": {…}, …, "Ev5": {…}}``); empty role values are
    dropped and counted in ``empty_values`` (see `parse_event`).

    Returns:
        ``(clip_id, [5 parsed events])``.
    """
    clip_id = annotation_clip_id(raw)
    if clip_id is None:
        raise VidSituFormatError(
            "annotation has no event with a 'vid_seg_int' clip id", file=file, field="vid_seg_int", reason="bad_record"
        )
    events = []
    for name in EVENT_NAMES:
        raw_event = raw.get(name)
        if raw_event is None:
            raise VidSituFormatError(
                "event missing from Ev1..Ev5",
                file=file,
                clip_id=clip_id,
                event=name,
                field=name,
                reason="missing_event",
            )
        if _is_mapping(raw_event) and raw_event.get("vid_seg_int", clip_id) != clip_id:
            raise VidSituFormatError(
                f"vid_seg_int {raw_event.get('vid_seg_int')!r} differs from the clip's {clip_id!r}",
                file=file,
                clip_id=clip_id,
                event=name,
                field="vid_seg_int",
                reason="clip_id_mismatch",
            )
        events.append(parse_event(raw_event, file=file, clip_id=clip_id, event=name, empty_values=empty_values))
    return clip_id, events


# ---------------------------------------------------------------------------------------------------------------------
# Strict / lenient bookkeeping
# ---------------------------------------------------------------------------------------------------------------------
@dataclass
class ReadSummary:
    """What was read from one split, and what was skipped in lenient mode (and why)."""

    split: str
    clips_in_split: int = 0
    clips_kept: int = 0
    #: reason -> number of clips left out of the split
    skipped_clips: Counter = field(default_factory=Counter)
    #: reason -> number of single annotator copies dropped while the clip was kept (valid has >= 3 per clip)
    dropped_annotations: Counter = field(default_factory=Counter)
    #: annotations of clips that the split file does not list (not an error: they are just not part of the split)
    unused_annotations: int = 0
    #: role short name -> values dropped as empty ("-", whitespace, no letter or digit) in the split's annotations
    empty_values: Counter = field(default_factory=Counter)
    #: negatives fill level -> events (see `negatives.NegativeDraw`); "short" = fewer than asked (tiny lexicons)
    negative_fill_levels: Counter = field(default_factory=Counter)
    #: the first few error messages, for the printed summary
    examples: list = field(default_factory=list)

    MAX_EXAMPLES = 5

    def as_dict(self) -> dict:
        """A JSON-serialisable copy."""
        return {
            "split": self.split,
            "clips_in_split": self.clips_in_split,
            "clips_kept": self.clips_kept,
            "skipped_clips": dict(self.skipped_clips),
            "dropped_annotations": dict(self.dropped_annotations),
            "unused_annotations": self.unused_annotations,
            "empty_values": dict(self.empty_values),
            "negative_fill_levels": {str(level): count for level, count in sorted(self.negative_fill_levels.items(), key=str)},
            "examples": list(self.examples),
        }

    def format(self) -> str:
        """A short human-readable report."""
        lines = [
            f"VidSitu {self.split}: kept {self.clips_kept}/{self.clips_in_split} clips; "
            f"skipped {sum(self.skipped_clips.values())} clips {dict(self.skipped_clips)}; "
            f"dropped {sum(self.dropped_annotations.values())} annotator copies {dict(self.dropped_annotations)}; "
            f"dropped {sum(self.empty_values.values())} empty role values {dict(self.empty_values)}"
        ]
        lines += [f"  e.g. {message}" for message in self.examples]
        return "\n".join(lines)

    @property
    def has_issues(self) -> bool:
        """Something was left out: clips, annotator copies or empty role values (printed, never silent)."""
        return bool(self.skipped_clips or self.dropped_annotations or self.empty_values)


class IssueLog:
    """Strict mode raises every `VidSituFormatError`; lenient mode counts it in a `ReadSummary` and carries on."""

    def __init__(self, strict: bool, summary: ReadSummary):
        self.strict = strict
        self.summary = summary

    def _note(self, error: VidSituFormatError) -> None:
        if self.strict:
            raise error
        if len(self.summary.examples) < ReadSummary.MAX_EXAMPLES:
            self.summary.examples.append(str(error))

    def skip_clip(self, error: VidSituFormatError) -> None:
        """Leave a whole clip out (lenient) or raise (strict)."""
        self._note(error)
        self.summary.skipped_clips[error.reason] += 1

    def drop_annotation(self, error: VidSituFormatError) -> None:
        """Drop one annotator copy of a clip (lenient) or raise (strict)."""
        self._note(error)
        self.summary.dropped_annotations[error.reason] += 1


# ---------------------------------------------------------------------------------------------------------------------
# Files and splits
# ---------------------------------------------------------------------------------------------------------------------
def resolve_annotations_dir(data_dir: str) -> str:
    """Accept the folder that contains ``vidsitu_annotations/`` or ``vidsitu_annotations/`` itself."""
    nested = os.path.join(data_dir, "vidsitu_annotations")
    if os.path.isdir(nested):
        return nested
    if os.path.isdir(os.path.join(data_dir, "split_files")):
        return data_dir
    raise VidSituFormatError(
        "no 'vidsitu_annotations/' (with split_files/, vinfo_files/, vseg_ann_files/) found; unzip the official "
        "vidsitu_data.zip there",
        file=nested,
        reason="missing_file",
    )


def read_json_list(path: str) -> list:
    """Load a JSON file that must hold a list. A missing or unreadable file is always an error (nothing to skip)."""
    if not os.path.isfile(path):
        raise VidSituFormatError("file not found", file=path, reason="missing_file")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise VidSituFormatError(f"not valid JSON ({error})", file=path, reason="bad_json") from None
    if not isinstance(data, list):
        raise VidSituFormatError(f"expected a JSON list, got {type(data).__name__}", file=path, reason="bad_json")
    return data


@dataclass
class ParsedClip:
    """One clip of an annotated split, after validation."""

    clip_id: str
    #: the 5 parsed events of the first valid annotator copy
    events: list
    #: valid: every valid annotator copy (5 parsed events each), file order; train: []
    annotations: list
    #: valid: per event, the annotators' VerbIDs from vinfo ``vbid_lst``; train: None
    verb_ids_10: list | None = None


def read_split_ids(annotations_dir: str, split: str, log: IssueLog) -> list[str]:
    """The clip ids of a split file, in order (the list index is the official ``ann_idx``)."""
    path = os.path.join(annotations_dir, split_file(split))
    clip_ids, seen = [], set()
    for index, clip_id in enumerate(read_json_list(path)):
        log.summary.clips_in_split += 1
        if not isinstance(clip_id, str) or not clip_id:
            log.skip_clip(
                VidSituFormatError(
                    f"entry {index} is {clip_id!r}, not a clip id", file=path, field=f"[{index}]", reason="bad_record"
                )
            )
        elif clip_id in seen:
            log.skip_clip(
                VidSituFormatError(
                    "clip listed twice", file=path, clip_id=clip_id, field=f"[{index}]", reason="duplicate_clip"
                )
            )
        else:
            seen.add(clip_id)
            clip_ids.append(clip_id)
    return clip_ids


def read_annotated_split(annotations_dir: str, split: str, strict: bool = True) -> tuple[list[ParsedClip], ReadSummary]:
    """Read and validate train or valid: split file + SRL annotations (+ vinfo's 10 verbs per event for valid).

    Train keeps the first valid annotation of a clip, as the official loader does (``vsitu_ann_dct[vseg][0]``); valid
    keeps every annotator copy, and the verb annotations of ``vinfo_valid_lb.json::vbid_lst``.
    """
    if split not in (TRAIN, VALID):
        raise ValueError(f"{split!r} has no annotations")
    summary = ReadSummary(split)
    log = IssueLog(strict, summary)
    clip_ids = read_split_ids(annotations_dir, split, log)
    wanted = set(clip_ids)

    ann_path = os.path.join(annotations_dir, vsann_file(split))
    copies: dict[str, list] = {}
    errors: dict[str, list] = {}
    for raw in read_json_list(ann_path):
        clip_id = annotation_clip_id(raw)
        if clip_id is not None and clip_id not in wanted:
            summary.unused_annotations += 1
            continue
        try:
            clip_id, events = parse_annotation(raw, file=ann_path, empty_values=summary.empty_values)
        except VidSituFormatError as error:
            if strict:
                raise
            if error.clip_id is None:  # cannot even tell which clip it belongs to
                log.drop_annotation(error)
            else:
                errors.setdefault(error.clip_id, []).append(error)
            continue
        copies.setdefault(clip_id, []).append(events)

    verb_ids_by_clip = _read_valid_verbs(annotations_dir, wanted, log) if split == VALID else {}

    clips = []
    for clip_id in clip_ids:
        good = copies.get(clip_id)
        if not good:
            log.skip_clip(
                errors.get(clip_id, [None])[0]
                or VidSituFormatError(
                    "clip id listed in the split file has no annotation",
                    file=ann_path,
                    clip_id=clip_id,
                    reason="missing_annotation",
                )
            )
            continue
        for error in errors.get(clip_id, ()):  # some copies were bad, others are fine: keep the clip, count the drops
            log.drop_annotation(error)
        if split == TRAIN:
            clips.append(ParsedClip(clip_id, good[0], []))
            continue
        verb_ids = verb_ids_by_clip.get(clip_id)
        if isinstance(verb_ids, VidSituFormatError):
            log.skip_clip(verb_ids)
            continue
        if verb_ids is None:
            log.skip_clip(
                VidSituFormatError(
                    "clip id listed in the split file has no vinfo record",
                    file=os.path.join(annotations_dir, vinfo_file(split)),
                    clip_id=clip_id,
                    reason="missing_vinfo",
                )
            )
            continue
        clips.append(ParsedClip(clip_id, good[0], good, verb_ids))
    summary.clips_kept = len(clips)
    return clips, summary


def _read_valid_verbs(annotations_dir: str, wanted: set, log: IssueLog) -> dict[str, Any]:
    """clip id -> per-event VerbID lists from ``vbid_lst``, or the `VidSituFormatError` of a malformed record."""
    path = os.path.join(annotations_dir, vinfo_file(VALID))
    result: dict[str, Any] = {}
    for record in read_json_list(path):
        clip_id = record.get("vid_seg_int") if isinstance(record, Mapping) else None
        if clip_id not in wanted or clip_id in result:
            continue
        try:
            result[clip_id] = _parse_vbid_lst(record, path, clip_id)
        except VidSituFormatError as error:
            if log.strict:
                raise
            result[clip_id] = error
    return result


def _parse_vbid_lst(record: Mapping, path: str, clip_id: str) -> list[list[str]]:
    vbid_lst = record.get("vbid_lst")
    if not isinstance(vbid_lst, Mapping):
        raise VidSituFormatError(
            f"expected {{Ev1..Ev5: [VerbIDs]}}, got {vbid_lst!r}", file=path, clip_id=clip_id, field="vbid_lst",
            reason="bad_vinfo",
        )  # fmt: skip
    per_event = []
    for name in EVENT_NAMES:
        verb_ids = vbid_lst.get(name)
        if not isinstance(verb_ids, list) or not verb_ids or not all(isinstance(v, str) and v for v in verb_ids):
            raise VidSituFormatError(
                f"expected a non-empty list of VerbIDs, got {verb_ids!r}",
                file=path,
                clip_id=clip_id,
                event=name,
                field=f"vbid_lst[{name!r}]",
                reason="missing_event" if verb_ids is None else "bad_vinfo",
            )
        per_event.append(list(verb_ids))
    return per_event


def iter_train_events(clips: Iterable[ParsedClip]) -> Iterable[dict]:
    """Every parsed event of a split (used to build the verb lexicon)."""
    for clip in clips:
        yield from clip.events
