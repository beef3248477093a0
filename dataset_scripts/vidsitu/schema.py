"""The VidSitu release as distributed: file names, split names, role inventory, the row schema and the error type.

Everything here is read from the official repository (`TheShadow29/VidSitu@b794988a`, see
`/work/shared/research/data_formats.md` §1); nothing is invented beyond the column layout of our rows.
"""

from __future__ import annotations

import os

import datasets

# ---------------------------------------------------------------------------------------------------------------------
# Official layout (`data/DATA_PREP.md`): `vidsitu_annotations/{split_files,vinfo_files,vseg_ann_files}`.
# ---------------------------------------------------------------------------------------------------------------------
ANNOTATIONS_DIRNAME = "vidsitu_annotations"
SPLIT_FILES_DIRNAME = "split_files"
VINFO_FILES_DIRNAME = "vinfo_files"
VSEG_ANN_FILES_DIRNAME = "vseg_ann_files"

#: Split names, exactly as they appear in the official file names.
TRAIN, VALID = "train", "valid"
TEST_SPLITS = ("testvb", "testsrl", "testevrel")
SPLITS = (TRAIN, VALID, *TEST_SPLITS)
#: Splits that carry SRL annotations in the public zip. Test annotations are withheld for the AI2 leaderboards.
ANNOTATED_SPLITS = (TRAIN, VALID)
#: Friendlier spellings accepted by `load_vidsitu(split=...)`.
SPLIT_ALIASES = {
    "validation": VALID,
    "val": VALID,
    "test_vb": "testvb",
    "test_verb": "testvb",
    "test_srl": "testsrl",
    "test_evrel": "testevrel",
}


def canonical_split(split: str) -> str:
    """Map a split name or alias (`"validation"`, `"test_srl"`, …) to the official name (`"valid"`, `"testsrl"`)."""
    name = SPLIT_ALIASES.get(split, split)
    if name not in SPLITS:
        raise ValueError(
            f"Unknown VidSitu split {split!r}; expected one of {SPLITS} (or aliases {sorted(SPLIT_ALIASES)})"
        )
    return name


def split_file(split: str) -> str:
    """Path of a split file, relative to `vidsitu_annotations/`."""
    return os.path.join(SPLIT_FILES_DIRNAME, f"vseg_split_{split}_lb.json")


def vinfo_file(split: str) -> str:
    """Path of a vinfo file (train and valid only), relative to `vidsitu_annotations/`."""
    return os.path.join(VINFO_FILES_DIRNAME, f"vinfo_{split}_lb.json")


def vsann_file(split: str) -> str:
    """Path of an SRL annotation file, relative to `vidsitu_annotations/`.

    Train and valid are `vsann_{split}_lb.json`; the two annotation-less test files are `vsann_{split}_noann_lb.json`.
    There is no file for `testvb`.
    """
    if split in ANNOTATED_SPLITS:
        return os.path.join(VSEG_ANN_FILES_DIRNAME, f"vsann_{split}_lb.json")
    return os.path.join(VSEG_ANN_FILES_DIRNAME, f"vsann_{split}_noann_lb.json")


# ---------------------------------------------------------------------------------------------------------------------
# Events and roles
# ---------------------------------------------------------------------------------------------------------------------
NUM_EVENTS = 5
EVENT_NAMES = tuple(f"Ev{k}" for k in range(1, NUM_EVENTS + 1))
#: Event k (1-based) covers seconds [2(k-1), 2k) of the 10 s clip (`dat_loader.set_comm_args`).
EVENT_SECONDS = 2.0
CLIP_SECONDS = EVENT_SECONDS * NUM_EVENTS
#: Ev3 is the reference event: the other events' `EvRel` is relative to it, and Ev3 itself has none.
REFERENCE_EVENT = "Ev3"
#: `dat_loader.set_comm_args::evrel_dct` (minus `Null`, which is what the loader uses for Ev3: our `None`).
EVREL_VALUES = ("Causes", "Reaction To", "Enables", "NoRel")

#: Numbered arguments: `utils/dat_utils.py::arg_mapper` takes the key's first space-separated word, so ``"Arg0 (…)"``,
#: ``"Arg0  (…)"`` and a bare ``"Arg0"`` all map to ``Arg0``.
NUMBERED_ARGS = tuple(f"Arg{i}" for i in range(6))
#: ``"ArgM …"`` → short name. `arg_mapper` takes the text after ``"ArgM "`` and tests these **substrings in this
#: order** (case-sensitive), so ``"ArgM (direction (…))"`` is ``ADir`` and ``"ArgM (manner, direction)"`` is too. It
#: raises on an ArgM that contains none of them, and so do we. The prompt reads the modifier word ("direction is …").
MODIFIER_SHORT_NAMES = {
    "direction": "ADir",
    "purpose": "APrp",
    "manner": "AMnr",
    "location": "ALoc",
    "goal": "AGol",
}
#: The exact key the annotation UI appends for the scene (`arg_mapper` compares the whole key).
SCENE_KEY = "Scene of the Event"
SCENE_SHORT = "AScn"
#: PropBank's generic names of the numbered arguments (PropBank annotation guidelines), used in a prompt when a key
#: has no usable description (``"Arg1"``, ``"Arg1 ()"``: `arg_mapper` accepts both) and for a negative's argument that
#: the replacement verb's frame does not describe (negatives rule N7).
GENERIC_ARG_DESCRIPTIONS = {
    "Arg0": "agent",
    "Arg1": "patient",
    "Arg2": "instrument",
    "Arg3": "starting point",
    "Arg4": "ending point",
    "Arg5": "attribute",
}
#: Roles a verb-role negative keeps verbatim (paper §5: "the common roles … are also kept unchanged").
COMMON_ROLE_SHORT_NAMES = frozenset({*MODIFIER_SHORT_NAMES.values(), SCENE_SHORT})


# ---------------------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------------------
class VidSituFormatError(ValueError):
    """A VidSitu file does not match the official format.

    The message always names the file, and where they apply the clip id, the event (`Ev1`…`Ev5`) and the field, so
    that a user can find the offending record with `grep`. `reason` is a short machine-readable category used to count
    skipped records in lenient mode (e.g. `"unknown_role_key"`, `"missing_event"`, `"short_video"`).
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        clip_id: str | None = None,
        event: str | None = None,
        field: str | None = None,
        reason: str = "format_error",
    ):
        self.problem = problem
        self.file = file
        self.clip_id = clip_id
        self.event = event
        self.field = field
        self.reason = reason
        where = []
        if file is not None:
            where.append(f"file {file}")
        if clip_id is not None:
            where.append(f"clip {clip_id!r}")
        if event is not None:
            where.append(f"event {event}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"[{reason}] {', '.join(where)}: {problem}" if where else f"[{reason}] {problem}")


# ---------------------------------------------------------------------------------------------------------------------
# Row schema (one row per clip). `datasets` >= 4 spells lists `List`; every split shares the same columns.
# ---------------------------------------------------------------------------------------------------------------------
ROLE_FEATURES = {
    "key": datasets.Value("string"),  # raw key, e.g. "Arg0 (agent, hitter - animate only!)"
    "short": datasets.Value("string"),  # Arg0..Arg5, ADir, APrp, AMnr, ALoc, AGol, AScn
    "description": datasets.Value("string"),  # cleaned description used in the prompt, e.g. "hitter"
    "value": datasets.Value("string"),  # the annotated noun phrase (whitespace collapsed, otherwise verbatim)
}
ANNOTATION_EVENT_FEATURES = {
    "verb": datasets.Value("string"),  # raw "Verb", e.g. "pull ((try to) cause motion)"
    "verb_lemma": datasets.Value("string"),  # "pull"
    "verb_id": datasets.Value("string"),  # "pull.01"
    "roles": datasets.List(ROLE_FEATURES),  # in Arg_List order
    "evrel": datasets.Value("string"),  # Causes / Reaction To / Enables / NoRel; None for Ev3
}
EVENT_FEATURES = {
    **ANNOTATION_EVENT_FEATURES,
    "prompt": datasets.Value("string"),  # in the configured prompt_style
    "verb_only_prompt": datasets.Value("string"),
    "negative_prompts": datasets.List(datasets.Value("string")),  # <= num_negatives, same style as `prompt`
    "verb_ids_10": datasets.List(datasets.Value("string")),  # valid: vinfo `vbid_lst[EvK]`; other splits: []
}
FEATURES = datasets.Features(
    {
        "clip_id": datasets.Value("string"),
        # Train/valid: the 5 events Ev1..Ev5 in order (valid: from the first SRL annotator). Test splits: [].
        "events": datasets.List(EVENT_FEATURES),
        # Valid: every SRL annotator's copy, in file order, each a list of 5 events. Train and test splits: [].
        "srl_annotations": datasets.List(datasets.List(ANNOTATION_EVENT_FEATURES)),
    }
)
