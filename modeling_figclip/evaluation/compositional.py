"""Image-text compositionality: SugarCrepe and the four ARO tasks, scored with the official rules.

Each unique image (or ARO bbox crop) and each unique caption is encoded once; scores are cosine similarities.
"""

from __future__ import annotations

import os

import torch

from dataset_scripts.benchmarks.aro import load_order, load_vg, vg_relation_excluded
from dataset_scripts.benchmarks.common import SkipLog, load_rgb_image
from dataset_scripts.benchmarks.perturbations import Tagger, TextShuffler, load_pos_tagger
from dataset_scripts.benchmarks.sugarcrepe import load_sugarcrepe

from . import metrics as M
from .bootstrap import items_digest
from .arguments import EvaluationArguments
from .common import base_settings, drop_failed, limit, skip_details
from .encoders import ClipEncoder
from .results import EvalResult


def _load_image(path: str):
    return load_rgb_image(path)


def _load_crop(key: tuple[str, tuple[float, float, float, float]]):
    return load_rgb_image(key[0], key[1])


def _scores(image_embeds: torch.Tensor, text_embeds: torch.Tensor) -> torch.Tensor:
    """`(items, options)` cosine scores of each item's image against each of its `(items, options, dim)` captions."""
    return torch.einsum("nd,nkd->nk", image_embeds, text_embeds)


def evaluate_sugarcrepe(encoder: ClipEncoder, args: EvaluationArguments, model_name: str) -> EvalResult:
    """SugarCrepe: per-subset accuracy (strict: a tie is wrong) and the replace/swap/add micro-averages."""
    skip_log = SkipLog(args.skip_missing)
    image_dir = args.image_dir or os.path.join(args.data_dir, "val2017")
    items = limit(load_sugarcrepe(args.data_dir, image_dir, args.subset_list(), skip_log), args)
    images = encoder.encode_images([it.image_path for it in items], _load_image, "SugarCrepe images")
    items = drop_failed(items, lambda it: it.image_path, images.failures, skip_log, "image")
    texts = encoder.encode_texts([t for it in items for t in (it.caption, it.negative_caption)], "SugarCrepe captions")
    image_embeds = images.lookup([it.image_path for it in items])
    positive = (image_embeds * texts.lookup([it.caption for it in items])).sum(-1)
    negative = (image_embeds * texts.lookup([it.negative_caption for it in items])).sum(-1)
    correct = M.preference_correct(positive, negative, args.ties)
    subsets = [it.subset for it in items]
    table = M.sugarcrepe_table(
        correct, subsets, items_digest((it.image_path, it.caption, it.negative_caption) for it in items)
    )
    return EvalResult(
        task="sugarcrepe",
        model=model_name,
        metrics=table.evaluate(),
        num_items=len(items),
        settings=base_settings(
            args,
            image_dir=image_dir,
            subsets=list(M.group_counts(subsets)),
            rule="correct iff sim(image, caption) > sim(image, negative_caption)",
            ties=args.ties,
            tie_rule=M.describe_ties("sugarcrepe", args.ties),
            category_average="micro over subsets",
        ),
        num_skipped=skip_log.count,
        details={
            "num_items_per_subset": dict(M.group_counts(subsets)),
            "num_unique_images": len(images.rows),
            "num_tied": int((positive == negative).sum()),
            **skip_details(skip_log),
        },
        item_tables=[table],
    )


def evaluate_aro_vg(encoder: ClipEncoder, args: EvaluationArguments, model_name: str, kind: str) -> EvalResult:
    """ARO VG-Relation (`kind="relation"`) or VG-Attribution (`"attribution"`) on bbox crops."""
    skip_log = SkipLog(args.skip_missing)
    image_dir = args.image_dir or os.path.join(args.data_dir, "images")
    items = limit(load_vg(args.data_dir, kind, image_dir, skip_log), args)
    crop_key = lambda it: (it.image_path, it.crop_box)
    images = encoder.encode_images([crop_key(it) for it in items], _load_crop, f"VG-{kind} crops")
    items = drop_failed(items, crop_key, images.failures, skip_log, "crop")
    texts = encoder.encode_texts(
        [t for it in items for t in (it.false_caption, it.true_caption)], f"VG-{kind} captions"
    )
    option_embeds = torch.stack(
        [texts.lookup([it.false_caption for it in items]), texts.lookup([it.true_caption for it in items])], dim=1
    )
    scores = _scores(images.lookup([crop_key(it) for it in items]), option_embeds)
    groups = [it.group for it in items]
    correct = M.option_correct(scores, 1, args.ties)
    if kind == "relation":
        excluded = vg_relation_excluded()
        grouped = M.macro_accuracy(correct, groups, exclude=excluded)
        rule = (
            f"macro over relation_name excluding the official list of {len(excluded)} relations "
            "(aro_vg_relation_excluded.json); correct iff the true caption scores highest"
        )
        details = {
            "per_relation": grouped.per_group,
            "per_relation_count": grouped.counts,
            "num_relations_in_macro": len(grouped.kept_groups),
        }
    else:
        if max(M.group_counts(groups).values(), default=0) < M.ARO_VG_ATTRIBUTION_MIN_COUNT:
            raise ValueError(
                f"VG-Attribution: no attribute pair has >= {M.ARO_VG_ATTRIBUTION_MIN_COUNT} items among "
                f"the {len(items)} evaluated (the official rule drops smaller pairs); use more data."
            )
        grouped = M.macro_accuracy(correct, groups, min_count=M.ARO_VG_ATTRIBUTION_MIN_COUNT)
        rule = (
            f"macro over attribute pairs with >= {M.ARO_VG_ATTRIBUTION_MIN_COUNT} items; correct iff the true "
            "caption scores highest"
        )
        details = {
            "per_pair": {g: grouped.per_group[g] for g in grouped.kept_groups},
            "num_pairs_in_macro": len(grouped.kept_groups),
        }
    table = M.aro_vg_table(
        correct, groups, grouped.kept_groups, items_digest((crop_key(it), it.false_caption, it.true_caption) for it in items)
    )
    return EvalResult(
        task=f"aro_vg_{kind}",
        model=model_name,
        metrics=table.evaluate(),
        num_items=len(items),
        settings=base_settings(
            args,
            image_dir=image_dir,
            rule=rule,
            ties=args.ties,
            tie_rule=M.describe_ties("aro_vg", args.ties),
            crop="(bbox_x, bbox_y, bbox_x+bbox_w, bbox_y+bbox_h)",
        ),
        num_skipped=skip_log.count,
        details={
            **details,
            "num_items_in_macro": int(sum(grouped.counts[g] for g in grouped.kept_groups)),
            "num_tied": int((scores[:, 0] == scores[:, 1]).sum()),
            **skip_details(skip_log),
        },
        item_tables=[table],
    )


def evaluate_aro_order(
    encoder: ClipEncoder, args: EvaluationArguments, model_name: str, dataset: str, tagger: Tagger | None = None
) -> EvalResult:
    """ARO COCO-Order (`dataset="coco"`) or Flickr30k-Order (`"flickr"`): Precision@1 of the original caption."""
    skip_log = SkipLog(args.skip_missing)
    image_dir = args.image_dir or args.data_dir
    shuffler = TextShuffler(tagger or load_pos_tagger(args.pos_tagger), seed=args.seed)
    items = limit(load_order(args.data_dir, dataset, shuffler, image_dir, skip_log), args)
    images = encoder.encode_images([it.image_path for it in items], _load_image, f"{dataset} images")
    items = drop_failed(items, lambda it: it.image_path, images.failures, skip_log, "image")
    texts = encoder.encode_texts([c for it in items for c in it.caption_options], f"{dataset} caption options")
    option_embeds = torch.stack([texts.lookup([it.caption_options[k] for it in items]) for k in range(5)], dim=1)
    scores = _scores(images.lookup([it.image_path for it in items]), option_embeds)
    table = M.aro_order_table(scores, args.ties, items_digest((it.image_path, *it.caption_options) for it in items))
    return EvalResult(
        task=f"aro_{dataset}_order",
        model=model_name,
        metrics=table.evaluate(),
        num_items=len(items),
        settings=base_settings(
            args,
            image_dir=image_dir,
            seed=args.seed,
            perturbations=[
                "shuffle_nouns_and_adj",
                "shuffle_allbut_nouns_and_adj",
                "shuffle_within_trigrams",
                "shuffle_trigrams",
            ],
            shuffler=shuffler.description,
            max_words=30,
            rule="correct iff the original caption scores highest among [original, 4 perturbations]",
            ties=args.ties,
            tie_rule=M.describe_ties("aro_order", args.ties),
        ),
        num_skipped=skip_log.count,
        details={
            "num_images": len(images.rows),
            "num_tied": int((scores[:, 1:] == scores[:, :1]).any(dim=1).sum()),
            **skip_details(skip_log),
        },
        item_tables=[table],
    )
