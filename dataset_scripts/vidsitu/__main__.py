"""See what the builder makes of your VidSitu files: ``python -m dataset_scripts.vidsitu --data_dir DIR``.

Prints, for the first clips of a split, every event's raw role keys with the short names VidSitu's ``arg_mapper``
gives them, the dropped empty values, the SRL prompt and the verb-role negatives (the prepared draw, or epoch E's
fresh draw), then the split's summary (clips kept and skipped, empty values, negatives per fill level).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .builder import NEGATIVE_SAMPLING, load_vidsitu
from .negatives import PROMPT_STYLES
from .prompts import is_empty_value
from .reader import read_json_list, resolve_annotations_dir
from .schema import EVENT_NAMES, VidSituFormatError, canonical_split, vsann_file
from .transforms import vidsitu_transform


def _raw_annotations(data_dir: str, split: str) -> dict[str, dict]:
    """clip id -> its first raw annotation, to show the raw keys and values next to the parsed ones."""
    path = os.path.join(resolve_annotations_dir(data_dir), vsann_file(split))
    raw: dict[str, dict] = {}
    for annotation in read_json_list(path):
        for name in EVENT_NAMES:
            event = annotation.get(name) if isinstance(annotation, dict) else None
            if isinstance(event, dict) and isinstance(event.get("vid_seg_int"), str):
                raw.setdefault(event["vid_seg_int"], annotation)
                break
    return raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dataset_scripts.vidsitu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", required=True, help="folder holding vidsitu_annotations/")
    parser.add_argument("--split", default="train", help="train or valid (aliases accepted)")
    parser.add_argument("--num_clips", type=int, default=1)
    parser.add_argument("--clip_id", default=None, help="show this clip instead of the first ones")
    parser.add_argument("--num_negatives", type=int, default=4)
    parser.add_argument("--negatives_seed", type=int, default=0)
    parser.add_argument("--negative_sampling", choices=NEGATIVE_SAMPLING, default="fixed")
    parser.add_argument("--epoch", type=int, default=0, help="the epoch whose fresh negatives to show (per_epoch)")
    parser.add_argument("--prompt_style", choices=PROMPT_STYLES, default="srl")
    parser.add_argument("--strict", type=lambda text: text.lower() in {"1", "true", "yes"}, default=True)
    parser.add_argument("--cache_dir", default=None)
    args = parser.parse_args(argv)
    try:
        split = canonical_split(args.split)
        dataset, summary = load_vidsitu(
            args.data_dir, split, num_negatives=args.num_negatives, negatives_seed=args.negatives_seed,
            negative_sampling=args.negative_sampling, prompt_style=args.prompt_style, strict=args.strict,
            cache_dir=args.cache_dir, return_summary=True,
        )  # fmt: skip
        raw = _raw_annotations(args.data_dir, split)
    except (VidSituFormatError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    transform = vidsitu_transform(dataset)
    if transform is not None:
        transform.set_epoch(args.epoch)
    clip_ids = dataset.with_format(None)["clip_id"]
    indices = [clip_ids.index(args.clip_id)] if args.clip_id in clip_ids else range(min(args.num_clips, len(dataset)))
    for index in indices:
        row = dataset[index]
        annotation = raw.get(row["clip_id"], {})
        print(f"clip {row['clip_id']}")
        for name, event in zip(EVENT_NAMES, row["events"]):
            raw_args = annotation.get(name, {}).get("Args", {})
            print(f"  {name}  Verb {event['verb']!r} -> lemma {event['verb_lemma']!r} ({event['verb_id']})")
            shorts = {role["key"]: role["short"] for role in event["roles"]}
            for key, value in raw_args.items():
                shown = "dropped: empty value" if is_empty_value(value) else shorts.get(key, "?")
                print(f"      {key!r}: {value!r} -> {shown}")
            print(f"    prompt:   {event['prompt']}")
            for negative in event["negative_prompts"]:
                print(f"    negative: {negative}")
    print(json.dumps({key: value for key, value in summary.items() if key != "examples"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
