"""VidSitu as a `datasets` builder, and the one-call `load_vidsitu`.

``datasets`` >= 4 has no loading scripts, so the builder is used directly::

    from dataset_scripts.vidsitu import load_vidsitu

    train = load_vidsitu("/data/vidsitu", split="train", video_dir="/data/vidsitu/videos", jitter=True)
    row = train[0]  # text columns + lazily decoded pixel_values_videos (5, 4, 3, H, W) uint8 and event_mask (5,)

or, for more control, ``VidSituBuilder(data_dir=…, splits=("train",), …).download_and_prepare()`` then
``.as_dataset("train")``.

Rows (one per clip) follow `schema.FEATURES`; every split has the same columns:

- ``clip_id``
- ``events`` — train/valid: the 5 events in order, each ``{verb, verb_lemma, verb_id, roles: [{key, short,
  description, value}] (Arg_List order), evrel (None for Ev3), prompt, verb_only_prompt, negative_prompts
  (<= num_negatives, same style as prompt), verb_ids_10}``; valid's events come from the first SRL annotator and carry
  vinfo's ~10 annotator VerbIDs in ``verb_ids_10`` (``[]`` elsewhere). Test splits: ``[]`` (ids only).
- ``srl_annotations`` — valid: every annotator's 5 events (file order), for the official SRL evaluation; else ``[]``.

Preparing a split reads and validates the annotation files and builds prompts and negatives (plain Python, a few
seconds for VidSitu's 23.6k training clips). It never decodes video: frames are decoded on access by
`VidSituFrameLoader`, attached with `transforms.attach_transform` when ``video_dir`` or ``frames_dir`` is given.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import datasets
import numpy as np
import pyarrow as pa

from .frames import DEFAULT_TOLERANCE_S, VidSituFrameLoader, check_video
from .lexicon import VerbLexicon, build_verb_lexicon
from .negatives import PROMPT_STYLES, NegativeSampler, event_rng, negatives_from_template, positive_template
from .prompts import verb_only_prompt
from .reader import (
    IssueLog,
    ParsedClip,
    ReadSummary,
    iter_train_events,
    read_annotated_split,
    read_split_ids,
    resolve_annotations_dir,
)
from .transforms import EpochNegatives, VidSituTransform, attach_transform
from .schema import (
    ANNOTATED_SPLITS,
    FEATURES,
    SPLITS,
    TRAIN,
    VALID,
    VidSituFormatError,
    canonical_split,
    split_file,
    vinfo_file,
    vsann_file,
)

logger = logging.getLogger(__name__)

SUMMARY_FILENAME = "vidsitu_summary.json"
#: ``negative_sampling`` of `load_vidsitu`: the prepared draw on every access, or a fresh draw every epoch (paper).
NEGATIVE_SAMPLING = ("fixed", "per_epoch")
#: Rows converted to Arrow at a time (bounded memory; large enough that the per-batch overhead vanishes).
_ROWS_PER_TABLE = 1000
_CITATION = """\
@inproceedings{sadhu2021visual,
  title={Visual Semantic Role Labeling for Video Understanding},
  author={Sadhu, Arka and Gupta, Tanmay and Yatskar, Mark and Nevatia, Ram and Kembhavi, Aniruddha},
  booktitle={CVPR}, year={2021}
}
"""


@dataclass
class VidSituConfig(datasets.BuilderConfig):
    """Options that change the prepared rows (frame options live on `VidSituFrameLoader`/`load_vidsitu`).

    Args:
        data_dir: folder containing ``vidsitu_annotations/`` (or that folder itself), as unzipped from the official
            ``vidsitu_data.zip``.
        splits: splits to prepare (official names ``train``, ``valid``, ``testvb``, ``testsrl``, ``testevrel``, or
            aliases such as ``validation``); None prepares all five.
        num_negatives: verb-role negatives per event (paper: 4). 0 disables them.
        negatives_seed: seed of the negatives; each event's draw depends only on (seed, clip id, event index).
        prompt_style: ``"srl"`` (paper template), ``"verb_only"`` or ``"no_template"`` (ablations); sets ``prompt``
            and the negatives.
        strict: raise `VidSituFormatError` on any malformed record or missing video (True), or skip the clip and
            count it in `VidSituBuilder.skipped_summary`, which is also logged (False).
        lexicon: where the verb-frame lexicon for negatives comes from: None builds it from ``data_dir``'s **train**
            annotations (also when preparing valid); a path to a saved `VerbLexicon` JSON; a data dir whose train
            annotations to use; or a `VerbLexicon`.
        video_dir / frames_dir: when given (and ``check_videos``), clips whose ``{clip_id}.mp4`` / frame folder is
            missing are an error (strict) or skipped (lenient) at preparation time.
        check_videos: do the existence check above (a ``stat`` per clip).
        probe_videos: additionally open every video (first frame, duration / frame count) to find corrupt and short
            ones at preparation time. Slower (~ms per clip); without it they are found when decoded.
        tolerance_s: how much shorter than 10 s a video may be (default 1/3 s: the official >= 290 of 300 frames).
    """

    splits: tuple | None = None
    num_negatives: int = 4
    negatives_seed: int = 0
    prompt_style: str = "srl"
    strict: bool = True
    lexicon: str | VerbLexicon | None = None
    video_dir: str | None = None
    frames_dir: str | None = None
    check_videos: bool = True
    probe_videos: bool = False
    tolerance_s: float = DEFAULT_TOLERANCE_S

    def __post_init__(self):
        super().__post_init__()
        if self.splits is not None:
            splits = (self.splits,) if isinstance(self.splits, str) else self.splits
            self.splits = tuple(canonical_split(split) for split in splits)
        if self.prompt_style not in PROMPT_STYLES:
            raise ValueError(f"prompt_style must be one of {PROMPT_STYLES}, got {self.prompt_style!r}")
        if self.num_negatives < 0:
            raise ValueError(f"num_negatives must be >= 0, got {self.num_negatives}")
        for name in ("data_dir", "video_dir", "frames_dir"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, os.path.abspath(os.fspath(value)))
        if isinstance(self.lexicon, os.PathLike):
            self.lexicon = os.fspath(self.lexicon)

    def create_config_id(self, config_kwargs: dict, custom_features=None) -> str:
        # datasets keys the cache on the option values only: add the state of the files they point at, so that a
        # re-extracted release (or a regenerated synthetic one) in the same folder is not served stale.
        config_kwargs = dict(config_kwargs)
        config_kwargs["_files_fingerprint"] = self.files_fingerprint()
        for name in ("data_dir", "video_dir", "frames_dir"):
            if config_kwargs.get(name) is not None:
                config_kwargs[name] = os.path.abspath(os.fspath(config_kwargs[name]))
        if isinstance(config_kwargs.get("lexicon"), VerbLexicon):
            config_kwargs["lexicon"] = hashlib.sha256(
                json.dumps(config_kwargs["lexicon"].to_dict(), sort_keys=True).encode()
            ).hexdigest()
        return super().create_config_id(config_kwargs, custom_features)

    def files_fingerprint(self) -> str:
        """Sizes and modification times of the annotation files, the lexicon file and the video folders."""
        paths = []
        if self.data_dir is not None:
            root = self.data_dir
            candidates = [os.path.join(root, "vidsitu_annotations"), root]
            for base in candidates:
                for split in SPLITS:
                    paths += [os.path.join(base, split_file(split)), os.path.join(base, vsann_file(split))]
                paths += [os.path.join(base, vinfo_file(split)) for split in ANNOTATED_SPLITS]
        if isinstance(self.lexicon, str):
            paths.append(self.lexicon)
        paths += [path for path in (self.video_dir, self.frames_dir) if path is not None]
        digest = hashlib.sha256()
        for path in paths:
            try:
                stat = os.stat(path)
            except OSError:
                continue
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def _code_hash() -> str:
    """Hash of this package's source: a change to a prompt rule must not be served from an old cache."""
    digest = hashlib.sha256()
    folder = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "rb") as handle:
                digest.update(name.encode() + b"\0" + handle.read())
    return digest.hexdigest()[:16]


class VidSituBuilder(datasets.ArrowBasedBuilder):
    """Builds VidSitu rows (prompts + verb-role negatives) from the official annotation files.

    See the module docstring for the row schema and `VidSituConfig` for the options, which can also be passed as
    keyword arguments: ``VidSituBuilder(data_dir=..., splits=("valid",), strict=False, cache_dir=...)``.
    After preparation, `skipped_summary` tells what lenient mode left out, per split.
    """

    BUILDER_CONFIG_CLASS = VidSituConfig
    # No BUILDER_CONFIGS on purpose: with a predefined config, datasets applies keyword options with setattr on a
    # copy, skipping VidSituConfig.__post_init__ (validation, split aliases, absolute paths).
    DEFAULT_CONFIG_NAME = "default"
    VERSION = datasets.Version("1.0.0")

    config: VidSituConfig

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("dataset_name", "vidsitu")
        kwargs.setdefault("hash", _code_hash())
        super().__init__(*args, **kwargs)
        self._summaries: dict[str, dict] = {}
        self._lexicon: VerbLexicon | None = None
        self._train_clips: tuple[list[ParsedClip], ReadSummary] | None = None

    # -- datasets hooks -----------------------------------------------------------------------------------------------
    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=(
                "VidSitu (Sadhu et al., CVPR 2021): 10 s movie clips, 5 events with verb + semantic roles each, "
                "turned into FiGCLIP's rule-based SRL prompts and verb-role hard negatives."
            ),
            features=FEATURES,
            homepage="https://vidsitu.org",
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager) -> list[datasets.SplitGenerator]:
        if self.config.data_dir is None:
            raise ValueError(
                "VidSituBuilder needs data_dir: the folder where the official vidsitu_data.zip was unzipped"
            )
        annotations_dir = resolve_annotations_dir(self.config.data_dir)
        splits = self.config.splits or SPLITS
        # Fail before writing anything if a file the requested splits need is missing (always an error: there is
        # nothing sensible to skip when the release itself is incomplete).
        needed = {split_file(split) for split in splits}
        for split in splits:
            if split in ANNOTATED_SPLITS:
                needed.add(vsann_file(split))
            if split == VALID:
                needed.add(vinfo_file(VALID))
            if split in ANNOTATED_SPLITS and self.config.num_negatives and self.config.lexicon is None:
                needed.add(vsann_file(TRAIN))
        for relative in sorted(needed):
            path = os.path.join(annotations_dir, relative)
            if not os.path.isfile(path):
                raise VidSituFormatError("file not found", file=path, reason="missing_file")
        return [datasets.SplitGenerator(name=split, gen_kwargs={"split": split}) for split in splits]

    def _generate_tables(self, split: str) -> Iterator[tuple[Any, pa.Table]]:
        # Rows go to Arrow in batches through pyarrow's own conversion (`Table.from_pylist` with the features'
        # schema) rather than one `encode_example` per row: our rows are already plain strings and lists, so the
        # per-row Python walk over the nested features was pure overhead (~a quarter of the build time).
        # Building ~10^6 small dicts and strings makes CPython's cyclic GC rescan the growing heap again and again
        # (it was ~40% of the build time). Nothing here creates reference cycles, so pause it while this split is
        # generated (and written by datasets, which consumes this generator), and restore it afterwards.
        schema = self.info.features.arrow_schema
        with _gc_paused():
            batch: list[dict] = []
            for index, row in enumerate(self._generate_split(split)):
                batch.append(row)
                if len(batch) == _ROWS_PER_TABLE:
                    yield _key(index), pa.Table.from_pylist(batch, schema=schema)
                    batch = []
            if batch:
                yield _key(index), pa.Table.from_pylist(batch, schema=schema)

    def _generate_split(self, split: str) -> Iterator[dict]:
        annotations_dir = resolve_annotations_dir(self.config.data_dir)
        if split == TRAIN:
            clips, summary = self._read_train(annotations_dir)
        elif split in ANNOTATED_SPLITS:
            clips, summary = read_annotated_split(annotations_dir, split, strict=self.config.strict)
        else:
            summary = ReadSummary(split)
            ids = read_split_ids(annotations_dir, split, IssueLog(self.config.strict, summary))
            clips = [ParsedClip(clip_id, [], []) for clip_id in ids]
        clips = self._check_videos(clips, IssueLog(self.config.strict, summary))
        summary.clips_kept = len(clips)

        lexicon = (
            self._get_lexicon(annotations_dir) if split in ANNOTATED_SPLITS and self.config.num_negatives else None
        )
        make_row = self._row_maker(lexicon, summary)
        for clip in clips:
            yield make_row(clip)

        self._summaries[split] = summary.as_dict()
        # Printed (not only logged) when something was skipped: lenient mode must never drop data silently.
        if summary.has_issues:
            print(summary.format())
        logger.info("%s", summary.format())

    def _prepare_split(self, split_generator, **kwargs):
        try:
            return super()._prepare_split(split_generator, **kwargs)
        except datasets.exceptions.DatasetGenerationError as error:
            # datasets wraps generator errors in a generic "An error occurred while generating the dataset":
            # surface our error, which names the file, clip, event and field.
            if isinstance(error.__cause__, VidSituFormatError):
                raise error.__cause__ from None
            raise

    def _download_and_prepare(self, dl_manager, verification_mode, **prepare_split_kwargs):
        super()._download_and_prepare(dl_manager, verification_mode, **prepare_split_kwargs)
        with open(os.path.join(self._output_dir, SUMMARY_FILENAME), "w", encoding="utf-8") as handle:
            json.dump(self._summaries, handle, indent=1)

    # -- public helpers -----------------------------------------------------------------------------------------------
    @property
    def skipped_summary(self) -> dict[str, dict]:
        """Per split: clips in the split file, clips kept, clips skipped / annotator copies dropped by reason, and a
        few example messages. Read back from the cache when the dataset was prepared by an earlier run."""
        if not self._summaries:
            path = os.path.join(self._output_dir, SUMMARY_FILENAME)
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as handle:
                    self._summaries = json.load(handle)
        return self._summaries

    @property
    def lexicon(self) -> VerbLexicon:
        """The verb-frame lexicon the negatives use (built from the train annotations unless configured)."""
        return self._get_lexicon(resolve_annotations_dir(self.config.data_dir))

    # -- internals ----------------------------------------------------------------------------------------------------
    def _read_train(self, annotations_dir: str) -> tuple[list[ParsedClip], ReadSummary]:
        if self._train_clips is None:
            self._train_clips = read_annotated_split(annotations_dir, TRAIN, strict=self.config.strict)
        return self._train_clips

    def _get_lexicon(self, annotations_dir: str) -> VerbLexicon:
        if self._lexicon is None:
            source = self.config.lexicon
            if isinstance(source, VerbLexicon):
                self._lexicon = source
            elif isinstance(source, str) and os.path.isfile(source):
                self._lexicon = VerbLexicon.load(source)
            elif isinstance(source, str):
                self._lexicon = build_verb_lexicon(source, strict=self.config.strict)
            else:
                clips, _ = self._read_train(annotations_dir)
                self._lexicon = VerbLexicon.from_events(iter_train_events(clips))
        return self._lexicon

    def _check_videos(self, clips: list[ParsedClip], log: IssueLog) -> list[ParsedClip]:
        config = self.config
        if not config.check_videos or (config.video_dir is None and config.frames_dir is None):
            return clips
        kept = []
        for clip in clips:
            try:
                check_video(
                    clip.clip_id,
                    video_dir=config.video_dir,
                    frames_dir=config.frames_dir,
                    probe=config.probe_videos,
                    tolerance_s=config.tolerance_s,
                )
            except VidSituFormatError as error:
                log.skip_clip(error)
                continue
            kept.append(clip)
        return kept

    def _row_maker(self, lexicon: VerbLexicon | None, summary: ReadSummary) -> Callable[[ParsedClip], dict]:
        """The hot path: plain dicts and strings, no per-event validation (already done by the reader). Counts each
        event's negatives fill level (rule N7) in ``summary``."""
        style, num_negatives, seed = self.config.prompt_style, self.config.num_negatives, self.config.negatives_seed
        fill_levels = summary.negative_fill_levels

        def make_row(clip: ParsedClip) -> dict:
            events = []
            for index, event in enumerate(clip.events):
                lemma = event["verb_lemma"]
                # One template serves the positive and every negative (see negatives.srl_template).
                template, numbered, prompt = positive_template(event, style)
                negatives: list[str] = []
                if lexicon is not None:
                    draw = negatives_from_template(
                        template, numbered, lemma, prompt, lexicon, num_negatives, event_rng(seed, clip.clip_id, index)
                    )
                    negatives = draw.prompts
                    fill_levels["short" if draw.fill_level is None else draw.fill_level] += 1
                events.append(
                    {
                        **event,
                        "prompt": prompt,
                        "verb_only_prompt": verb_only_prompt(lemma),
                        "negative_prompts": negatives,
                        "verb_ids_10": clip.verb_ids_10[index] if clip.verb_ids_10 is not None else [],
                    }
                )
            return {"clip_id": clip.clip_id, "events": events, "srl_annotations": clip.annotations}

        return make_row


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _key(index: int) -> Any:
    # datasets >= 4.5 expects Key(original_shard_id, item_id); older versions take plain ints.
    key_class = getattr(datasets.builder, "Key", None)
    return key_class(0, index) if key_class is not None else index


@dataclass
class PreparedSplit:
    """One prepared VidSitu split: text rows (no frames), what lenient mode left out, and the negatives' sampler.

    Attributes:
        dataset: the rows (`schema.FEATURES`), without any transform.
        summary: the split's `ReadSummary` as a dict (also when the rows come from the datasets cache).
        negative_sampler: draws the split's negatives (`EpochNegatives` redraws them every epoch with it); None for
            test splits and ``num_negatives=0``.
    """

    dataset: datasets.Dataset
    summary: dict
    negative_sampler: NegativeSampler | None


def prepare_vidsitu(
    data_dir: str,
    split: str = "train",
    *,
    video_dir: str | None = None,
    frames_dir: str | None = None,
    num_negatives: int = 4,
    negatives_seed: int = 0,
    prompt_style: str = "srl",
    strict: bool = True,
    lexicon: str | VerbLexicon | None = None,
    check_videos: bool = True,
    probe_videos: bool = False,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    cache_dir: str | None = None,
    keep_in_memory: bool | None = None,
) -> PreparedSplit:
    """Prepare one split's text rows (cached by `datasets`); see `load_vidsitu` for the arguments. Nothing is
    decoded: `load_vidsitu` adds the on-access transforms."""
    split = canonical_split(split)
    if video_dir is not None and frames_dir is not None:
        raise ValueError("Give at most one of video_dir (mp4 clips) and frames_dir (JPEG frame folders)")
    builder = VidSituBuilder(
        data_dir=data_dir,
        cache_dir=cache_dir,
        splits=(split,),
        num_negatives=num_negatives,
        negatives_seed=negatives_seed,
        prompt_style=prompt_style,
        strict=strict,
        lexicon=lexicon,
        video_dir=video_dir,
        frames_dir=frames_dir,
        check_videos=check_videos,
        probe_videos=probe_videos,
        tolerance_s=tolerance_s,
    )
    builder.download_and_prepare()
    if builder.info.splits[split].num_examples == 0:
        # datasets cannot read back a split with no rows ("corresponds to no data"); an empty split is legitimate
        # (e.g. lenient mode skipped everything), so return an empty dataset with the same columns.
        dataset = datasets.Dataset.from_dict({name: [] for name in FEATURES}, features=FEATURES, split=split)
    else:
        dataset = builder.as_dataset(split=split, in_memory=keep_in_memory)
    sampler = None
    if split in ANNOTATED_SPLITS and num_negatives > 0:
        sampler = NegativeSampler(builder.lexicon, num_negatives, negatives_seed, prompt_style)
    return PreparedSplit(dataset, builder.skipped_summary.get(split, {}), sampler)


def load_vidsitu(
    data_dir: str,
    split: str = "train",
    *,
    video_dir: str | None = None,
    frames_dir: str | None = None,
    frames_per_event: int = 4,
    num_negatives: int = 4,
    negatives_seed: int = 0,
    negative_sampling: str = "fixed",
    negative_pool_size: int = 0,
    prompt_style: str = "srl",
    strict: bool = True,
    jitter: bool = False,
    jitter_seed: int | None = None,
    lexicon: str | VerbLexicon | None = None,
    image_transform: Callable[[np.ndarray], Any] | None = None,
    frame_size: Sequence[int] | None = None,
    decode_frames: bool = True,
    clip_threads: int = 1,
    check_videos: bool = True,
    probe_videos: bool = False,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    cache_dir: str | None = None,
    keep_in_memory: bool | None = None,
    return_summary: bool = False,
) -> datasets.Dataset | tuple[datasets.Dataset, dict]:
    """Prepare one VidSitu split and return it as a `datasets.Dataset` (one row per clip).

    Args:
        data_dir: the folder with ``vidsitu_annotations/`` (official names, as unzipped).
        split: ``train``, ``valid`` (alias ``validation``), ``testvb``, ``testsrl`` or ``testevrel``.
        video_dir: folder of trimmed ``{clip_id}.mp4`` clips, or
        frames_dir: folder of ``{clip_id}/{clip_id}_%06d.jpg`` frame folders (30 fps). With either, a lazy
            `VidSituFrameLoader` is attached (`attach_transform`) that adds ``pixel_values_videos``
            ``(5, frames_per_event, 3, H, W)`` uint8 (channels first) and ``event_mask`` ``(5,)`` on access.
        frames_per_event: frames per 2 s event (paper: 4).
        num_negatives, negatives_seed, prompt_style, strict, lexicon, check_videos, probe_videos, tolerance_s:
            see `VidSituConfig`. ``strict`` also applies to decoding.
        negative_sampling: ``"fixed"`` — every access returns the negatives drawn when the split was prepared — or
            ``"per_epoch"`` — a fresh draw every epoch (the paper's; `transforms.EpochNegatives`), deterministic in
            (seed, epoch, clip, event). Set the epoch with ``vidsitu_transform(dataset).set_epoch(epoch)``.
        negative_pool_size: with ``"per_epoch"``, draw each epoch's negatives from a fixed per-event pool of this
            many (0: no pool, the paper's unrestricted draw); see `NegativeSampler`.
        jitter: random sampling time inside each of an event's segments (training) instead of the centre.
        jitter_seed: makes jitter reproducible (a function of seed, epoch and clip); None draws fresh entropy.
        image_transform: applied to each clip's frames (numpy ``(5 * frames_per_event, H, W, 3)`` uint8), e.g. the
            CLIP image processor; its output is reshaped to ``(5, frames_per_event, ...)``.
        frame_size: ``(H, W)`` to resize frames to while decoding (else native size).
        decode_frames: set False to get the text columns only even when a video folder is given.
        clip_threads: decode a batch's clips in this many threads (see `VidSituFrameLoader`).
        cache_dir: datasets cache folder (default ``~/.cache/huggingface/datasets``).
        keep_in_memory: passed to ``as_dataset``.
        return_summary: also return the lenient-mode summary of this split (see `VidSituBuilder.skipped_summary`).
    """
    if negative_sampling not in NEGATIVE_SAMPLING:
        raise ValueError(f"negative_sampling must be one of {NEGATIVE_SAMPLING}, got {negative_sampling!r}")
    prepared = prepare_vidsitu(
        data_dir, split, video_dir=video_dir, frames_dir=frames_dir, num_negatives=num_negatives,
        negatives_seed=negatives_seed, prompt_style=prompt_style, strict=strict, lexicon=lexicon,
        check_videos=check_videos, probe_videos=probe_videos, tolerance_s=tolerance_s, cache_dir=cache_dir,
        keep_in_memory=keep_in_memory,
    )  # fmt: skip
    negatives = None
    sampler = prepared.negative_sampler
    if negative_sampling == "per_epoch" and sampler is not None:
        negatives = EpochNegatives(
            NegativeSampler(sampler.lexicon, sampler.num_negatives, sampler.seed, sampler.prompt_style, negative_pool_size)
        )
    frames = None
    if decode_frames and (video_dir is not None or frames_dir is not None):
        frames = VidSituFrameLoader(
            video_dir=video_dir,
            frames_dir=frames_dir,
            frames_per_event=frames_per_event,
            jitter=jitter,
            seed=jitter_seed,
            frame_size=tuple(frame_size) if frame_size is not None else None,
            image_transform=image_transform,
            strict=strict,
            tolerance_s=tolerance_s,
            clip_threads=clip_threads,
        )
    dataset = prepared.dataset
    if negatives is not None or frames is not None:
        dataset = attach_transform(dataset, VidSituTransform(negatives, frames))
    if return_summary:
        return dataset, prepared.summary
    return dataset
