"""Pure metric functions for the FiGCLIP evaluation suite, with the official scoring rules of each benchmark.

Every function takes arrays/tensors (scores, labels, predictions) and returns numbers or a plain dict; nothing here
reads files or touches a model. Accuracies and recalls are returned in **percent**, ranks as ranks.

Tie rules (a tie is an exact float equality of two scores):

* **Ranks** (retrieval R@K/MedR/MnR, classification top-k): the rank of the positive is
  `1 + (number of negatives scoring strictly higher than the best positive)` -- the "optimistic" rule, which is what
  CLIP4Clip's `compute_metrics` computes (`np.sort` then the first position equal to the positive's score).
  `ties="pessimistic"` counts tied negatives as ranked ahead instead. Either way the number of queries whose positive
  tied with a negative is reported (`num_tied`), so a degenerate model (e.g. constant embeddings) is visible.
* **SugarCrepe**: the positive caption must score *strictly* higher than the negative (official `main_eval.py`), so
  a tie is wrong.
* **ARO VG-Relation / VG-Attribution**: options are `[false_caption, true_caption]` and the prediction is `argmax`,
  which returns the first maximum, so a tie is wrong.
* **ARO COCO/Flickr-Order**: option 0 is the original caption; `argmax == 0` with the first maximum, so a tie with
  the original counts as correct.
* **VidSitu verbs**: scored from the ranked top-5 VerbID lists exactly as `vidsitu_code/evl_fns.py` does.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from typing import Literal, NamedTuple

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor | Sequence[float] | Sequence[Sequence[float]]
TieRule = Literal["optimistic", "pessimistic"]
TIE_RULES: tuple[str, ...] = ("optimistic", "pessimistic")

SUGARCREPE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "replace": ("replace_obj", "replace_att", "replace_rel"),
    "swap": ("swap_obj", "swap_att"),
    "add": ("add_obj", "add_att"),
}
"""SugarCrepe's three categories; the paper's category numbers are micro-averages over their subsets."""

ARO_VG_ATTRIBUTION_MIN_COUNT = 25
"""VG-Attribution keeps attribute pairs with at least this many items (`evaluate_scores` in the ARO repository)."""

VIDSITU_RECALL_THRESHOLD = 9
"""`recall_macro_1_th_9`: verb classes with more than 9 instances enter the Rec@5 macro average."""


# ----------------------------------------------------------------------------------------------------------- helpers
def _as_tensor(values: ArrayLike, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values.detach().to("cpu", dtype)
    return torch.as_tensor(np.asarray(values), dtype=dtype)


def _as_numpy(values: ArrayLike) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def _check_tie_rule(ties: str) -> None:
    if ties not in TIE_RULES:
        raise ValueError(f"ties must be one of {TIE_RULES}, got {ties!r}.")


def percent(correct: ArrayLike) -> float:
    """Mean of a boolean/0-1 array in percent. An empty array is an error rather than a silent 0 or NaN."""
    array = _as_numpy(correct).astype(np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError("Cannot compute an accuracy over zero items.")
    return float(array.mean() * 100.0)


# ----------------------------------------------------------------------------------------------------------- ranks
class RankResult(NamedTuple):
    """Ranks of the positives (1 = best) and how many queries had a negative tied with their best positive."""

    ranks: np.ndarray
    num_tied: int


def _positive_mask(
    positives: ArrayLike | Sequence[Sequence[int]], rows: slice, num_rows: int, num_candidates: int
) -> torch.Tensor:
    """`(rows, candidates)` bool mask from per-query positive indices (ints, lists of ints, or a bool matrix)."""
    if isinstance(positives, (np.ndarray, torch.Tensor)) and _as_numpy(positives).ndim == 2:
        mask = _as_tensor(positives, torch.bool)[rows]
        if mask.shape[1] != num_candidates:
            raise ValueError(f"positive mask has {mask.shape[1]} columns, the scores have {num_candidates}.")
        return mask
    selected = positives[rows]
    if isinstance(selected, (np.ndarray, torch.Tensor)) or all(isinstance(p, (int, np.integer)) for p in selected):
        # One positive per query (the common case): vectorised.
        indices = _as_tensor(selected, torch.long).reshape(-1)
        if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= num_candidates):
            bad = int(((indices < 0) | (indices >= num_candidates)).nonzero()[0])
            raise ValueError(
                f"query {rows.start + bad}: positive index {int(indices[bad])} outside [0, {num_candidates})."
            )
        mask = torch.zeros(len(indices), num_candidates, dtype=torch.bool)
        mask[torch.arange(len(indices)), indices] = True
        return mask
    mask = torch.zeros(len(selected), num_candidates, dtype=torch.bool)
    for row, positive in enumerate(selected):
        indices = [positive] if isinstance(positive, (int, np.integer)) else list(positive)
        if not indices:
            raise ValueError(f"query {rows.start + row} has no positive candidate.")
        for index in indices:
            if not 0 <= int(index) < num_candidates:
                raise ValueError(f"query {rows.start + row}: positive index {index} outside [0, {num_candidates}).")
            mask[row, int(index)] = True
    return mask


def _ranks_from_block(
    scores: torch.Tensor, positive_mask: torch.Tensor, ties: str
) -> tuple[torch.Tensor, torch.Tensor]:
    best_positive = scores.masked_fill(~positive_mask, float("-inf")).max(dim=1, keepdim=True).values
    negatives = ~positive_mask
    higher = ((scores > best_positive) & negatives).sum(dim=1)
    tied = ((scores == best_positive) & negatives).sum(dim=1)
    ranks = 1 + higher + (tied if ties == "pessimistic" else 0)
    return ranks, tied > 0


def ranks_of_positives(
    scores: ArrayLike, positives: ArrayLike | Sequence[Sequence[int]], ties: TieRule = "optimistic"
) -> RankResult:
    """Rank (1-based) of the best-scoring positive of each query among all candidates.

    Args:
        scores: `(queries, candidates)` scores, higher is better.
        positives: per query, the index of its positive candidate (`(queries,)` ints), a list of positive indices
            (several captions of one video), or a `(queries, candidates)` bool mask.
        ties: `"optimistic"` (negatives tied with the positive do not count, CLIP4Clip) or `"pessimistic"`.
    """
    _check_tie_rule(ties)
    scores_t = _as_tensor(scores)
    if scores_t.ndim != 2:
        raise ValueError(f"scores must be 2-D (queries, candidates), got shape {tuple(scores_t.shape)}.")
    if len(positives) != scores_t.shape[0]:
        raise ValueError(f"{len(positives)} positives for {scores_t.shape[0]} queries.")
    mask = _positive_mask(positives, slice(0, scores_t.shape[0]), scores_t.shape[0], scores_t.shape[1])
    ranks, tied = _ranks_from_block(scores_t, mask, ties)
    return RankResult(ranks.numpy().astype(np.int64), int(tied.sum()))


def retrieval_ranks(
    query_embeds: ArrayLike,
    candidate_embeds: ArrayLike,
    positives: ArrayLike | Sequence[Sequence[int]],
    ties: TieRule = "optimistic",
    chunk_size: int = 1024,
) -> RankResult:
    """Ranks from embeddings without materialising the full similarity matrix.

    Similarities (dot products; pass L2-normalised embeddings for cosine) are computed for `chunk_size` queries at a
    time, so 10k x 10k needs `chunk_size x 10k` floats at once instead of 10^8.
    """
    _check_tie_rule(ties)
    queries = _as_tensor(query_embeds)
    candidates = _as_tensor(candidate_embeds)
    if queries.ndim != 2 or candidates.ndim != 2 or queries.shape[1] != candidates.shape[1]:
        raise ValueError(
            f"embeddings must be (n, dim) with the same dim, got {tuple(queries.shape)} and {tuple(candidates.shape)}."
        )
    if len(positives) != queries.shape[0]:
        raise ValueError(f"{len(positives)} positives for {queries.shape[0]} queries.")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}.")
    all_ranks, num_tied = [], 0
    for start in range(0, queries.shape[0], chunk_size):
        rows = slice(start, min(start + chunk_size, queries.shape[0]))
        block = queries[rows] @ candidates.T
        mask = _positive_mask(positives, rows, queries.shape[0], candidates.shape[0])
        ranks, tied = _ranks_from_block(block, mask, ties)
        all_ranks.append(ranks)
        num_tied += int(tied.sum())
    ranks = torch.cat(all_ranks) if all_ranks else torch.zeros(0, dtype=torch.long)
    return RankResult(ranks.numpy().astype(np.int64), num_tied)


def rank_metrics(ranks: ArrayLike, ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """`R@K` (% of queries with rank <= K), `MedR` (median rank) and `MnR` (mean rank) from 1-based ranks."""
    array = _as_numpy(ranks).astype(np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError("Cannot compute retrieval metrics over zero queries.")
    if (array < 1).any():
        raise ValueError("ranks are 1-based; got a rank below 1.")
    metrics = {f"R@{k}": float((array <= k).mean() * 100.0) for k in ks}
    metrics["MedR"] = float(np.median(array))
    metrics["MnR"] = float(array.mean())
    return metrics


def retrieval_metrics_from_similarity(
    similarity: ArrayLike, ties: TieRule = "optimistic", ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """CLIP4Clip-style metrics of a square similarity matrix whose diagonal holds the ground truth."""
    scores = _as_tensor(similarity)
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1]:
        raise ValueError(f"similarity must be square (ground truth on the diagonal), got {tuple(scores.shape)}.")
    result = ranks_of_positives(scores, np.arange(scores.shape[0]), ties)
    return {**rank_metrics(result.ranks, ks), "num_tied": result.num_tied}


# ----------------------------------------------------------------------------------------------------------- classification
def topk_accuracy(
    scores: ArrayLike, labels: ArrayLike, ks: Sequence[int] = (1, 5), ties: TieRule = "optimistic"
) -> dict[str, float]:
    """`top{k}` accuracy in percent: the label's rank (same tie rule as retrieval) is at most k."""
    labels_np = _as_numpy(labels).astype(np.int64).reshape(-1)
    ranks = ranks_of_positives(scores, labels_np, ties).ranks
    return {f"top{k}": percent(ranks <= k) for k in ks}


def mean_per_class_accuracy(scores: ArrayLike, labels: ArrayLike, k: int = 1, ties: TieRule = "optimistic") -> float:
    """Mean over the classes present in `labels` of each class's top-k recall, in percent.

    Classes without test items are left out (as sklearn's `balanced_accuracy_score`, used by CLIP_benchmark).
    """
    labels_np = _as_numpy(labels).astype(np.int64).reshape(-1)
    correct = ranks_of_positives(scores, labels_np, ties).ranks <= k
    per_class = [correct[labels_np == label].mean() for label in np.unique(labels_np)]
    return float(np.mean(per_class) * 100.0)


def classification_metrics(
    scores: ArrayLike, labels: ArrayLike, ks: Sequence[int] = (1, 5), ties: TieRule = "optimistic"
) -> dict[str, float]:
    """`top1`, `top5` and `mean_per_class` (top-1 recall averaged over classes), all in percent."""
    return {
        **topk_accuracy(scores, labels, ks, ties),
        "mean_per_class": mean_per_class_accuracy(scores, labels, 1, ties),
    }


# ----------------------------------------------------------------------------------------------------------- caption selection
def strict_preference_correct(positive_scores: ArrayLike, negative_scores: ArrayLike) -> np.ndarray:
    """SugarCrepe's rule: an item is correct iff the positive caption scores *strictly* higher (a tie is wrong)."""
    positive = _as_numpy(positive_scores).astype(np.float64).reshape(-1)
    negative = _as_numpy(negative_scores).astype(np.float64).reshape(-1)
    if positive.shape != negative.shape:
        raise ValueError(f"{positive.size} positive scores but {negative.size} negative scores.")
    return positive > negative


def first_argmax_correct(scores: ArrayLike, correct_index: int) -> np.ndarray:
    """ARO's rule: `np.argmax(scores, -1) == correct_index`; argmax returns the *first* maximum on ties."""
    array = _as_numpy(scores).astype(np.float64)
    if array.ndim != 2:
        raise ValueError(f"scores must be (items, options), got shape {array.shape}.")
    return np.argmax(array, axis=-1) == correct_index


def sugarcrepe_metrics(correct: ArrayLike, subsets: Sequence[str]) -> dict[str, float]:
    """Accuracy per SugarCrepe subset plus the `replace`/`swap`/`add` micro-averages over the subsets present."""
    correct_np = _as_numpy(correct).astype(bool).reshape(-1)
    subsets_np = np.asarray(list(subsets))
    if correct_np.shape != subsets_np.shape:
        raise ValueError(f"{correct_np.size} correctness flags for {subsets_np.size} subset names.")
    if correct_np.size == 0:
        raise ValueError("Cannot compute SugarCrepe accuracies over zero items.")
    metrics = {str(subset): percent(correct_np[subsets_np == subset]) for subset in dict.fromkeys(subsets_np.tolist())}
    for category, members in SUGARCREPE_CATEGORIES.items():
        in_category = np.isin(subsets_np, members)
        if in_category.any():
            metrics[category] = percent(correct_np[in_category])
    return metrics


class GroupAccuracy(NamedTuple):
    """Per-group accuracies (percent) and item counts, and the macro average over the groups kept."""

    macro: float
    per_group: dict
    counts: dict
    kept_groups: tuple


def macro_accuracy(
    correct: ArrayLike, groups: Sequence[Hashable], exclude: Sequence[Hashable] = (), min_count: int = 1
) -> GroupAccuracy:
    """Accuracy per group, then the unweighted mean over groups not in `exclude` with at least `min_count` items."""
    correct_np = _as_numpy(correct).astype(bool).reshape(-1)
    if len(groups) != correct_np.size:
        raise ValueError(f"{correct_np.size} correctness flags for {len(groups)} group labels.")
    by_group: dict = defaultdict(list)
    for flag, group in zip(correct_np.tolist(), groups):
        by_group[group].append(flag)
    excluded = set(exclude)
    per_group = {
        group: float(np.mean(flags) * 100.0) for group, flags in sorted(by_group.items(), key=lambda kv: str(kv[0]))
    }
    counts = {group: len(by_group[group]) for group in per_group}
    kept = tuple(g for g in per_group if g not in excluded and counts[g] >= min_count)
    if not kept:
        raise ValueError(f"No group is left for the macro average (min_count={min_count}, {len(excluded)} excluded).")
    return GroupAccuracy(float(np.mean([per_group[g] for g in kept])), per_group, counts, kept)


def aro_vg_relation_metrics(
    scores: ArrayLike, relation_names: Sequence[str], excluded_relations: Sequence[str]
) -> dict:
    """ARO VG-Relation: `scores` is `(items, 2)` for `[false_caption, true_caption]`.

    `macro_accuracy` averages the per-relation accuracies over relations not in the official excluded list
    (`aro_vg_relation_excluded.json`); `accuracy` is the plain accuracy over every item.
    """
    correct = first_argmax_correct(scores, correct_index=1)
    grouped = macro_accuracy(correct, list(relation_names), exclude=excluded_relations)
    return {
        "macro_accuracy": grouped.macro,
        "accuracy": percent(correct),
        "num_relations_in_macro": len(grouped.kept_groups),
        "num_items_in_macro": int(sum(grouped.counts[g] for g in grouped.kept_groups)),
        "per_relation": grouped.per_group,
        "per_relation_count": grouped.counts,
    }


def aro_vg_attribution_metrics(
    scores: ArrayLike, attribute_pairs: Sequence[str], min_count: int = ARO_VG_ATTRIBUTION_MIN_COUNT
) -> dict:
    """ARO VG-Attribution: macro accuracy over `f"{attr1}_{attr2}"` keys with at least `min_count` (25) items."""
    correct = first_argmax_correct(scores, correct_index=1)
    grouped = macro_accuracy(correct, list(attribute_pairs), min_count=min_count)
    return {
        "macro_accuracy": grouped.macro,
        "accuracy": percent(correct),
        "num_pairs_in_macro": len(grouped.kept_groups),
        "num_items_in_macro": int(sum(grouped.counts[g] for g in grouped.kept_groups)),
        "per_pair": {g: grouped.per_group[g] for g in grouped.kept_groups},
    }


def aro_order_metrics(scores: ArrayLike) -> dict:
    """ARO COCO-/Flickr30k-Order: `(items, 5)` scores with the original caption first; `accuracy` = Precision@1."""
    return {"accuracy": percent(first_argmax_correct(scores, correct_index=0))}


# ----------------------------------------------------------------------------------------------------------- VidSitu
def topk_labels(scores: ArrayLike, labels: Sequence[str], k: int = 5) -> tuple[list[list[str]], list[list[float]]]:
    """The k best labels per row (highest score first; equal scores keep the lower index first) and their scores."""
    scores_np = _as_numpy(scores).astype(np.float64)
    if scores_np.ndim != 2 or scores_np.shape[1] != len(labels):
        raise ValueError(f"scores must be (rows, {len(labels)}), got shape {scores_np.shape}.")
    order = np.argsort(-scores_np, axis=1, kind="stable")[:, :k]
    return (
        [[labels[i] for i in row] for row in order],
        [[float(scores_np[r, i]) for i in row] for r, row in enumerate(order)],
    )


def vidsitu_verb_metrics(
    predictions: Sequence[Sequence[Sequence[str]]],
    ground_truth: Sequence[Sequence[Sequence[str]]],
    recall_threshold: int = VIDSITU_RECALL_THRESHOLD,
) -> dict[str, float]:
    """VidSitu verb metrics from ranked VerbID predictions, as `EvlFn_Vb.vb_classf_metrics_all` computes them.

    Args:
        predictions: per clip, per event (5), the ranked predicted VerbIDs (only the first 5 are used).
        ground_truth: per clip, per event, the annotators' VerbIDs (only the first 10 are used).
        recall_threshold: verb classes with *more than* this many instances enter the Rec@5 macro average.

    Returns (percent): `Acc@1`..`Acc@5` (= `Per_Ev_Top_k`: any of the top-k in the annotators' set), `Per_Vid_Top_1`,
    `Per_Vid_Top_5` (all events of the clip right), and `Rec@5` (= `recall_macro_1_th_9`: per GT verb chosen by >= 2
    annotators of an event, a hit if it is in the top 5; averaged per verb class, then over classes with more than
    `recall_threshold` instances), plus `num_verb_classes_rec@5`.
    """
    if len(predictions) != len(ground_truth):
        raise ValueError(f"{len(predictions)} predicted clips but {len(ground_truth)} ground-truth clips.")
    if not predictions:
        raise ValueError("Cannot compute VidSitu verb metrics over zero clips.")
    per_event = {k: [] for k in range(1, 6)}
    per_video = {k: [] for k in range(1, 6)}
    hits_by_verb: dict[str, list[int]] = defaultdict(list)
    for clip_index, (clip_pred, clip_gt) in enumerate(zip(predictions, ground_truth)):
        if len(clip_pred) != len(clip_gt):
            raise ValueError(f"clip {clip_index}: {len(clip_pred)} predicted events but {len(clip_gt)} annotated.")
        clip_hits = {k: [] for k in range(1, 6)}
        for event_pred, event_gt in zip(clip_pred, clip_gt):
            top5, annotators = list(event_pred)[:5], list(event_gt)[:10]
            for k in range(1, 6):
                hit = int(len(set(top5[:k]).intersection(annotators)) > 0)
                per_event[k].append(hit)
                clip_hits[k].append(hit)
            for verb, count in Counter(annotators).most_common():
                if count >= 2:
                    hits_by_verb[verb].append(int(verb in set(top5)))
        for k in range(1, 6):
            per_video[k].append(int(all(clip_hits[k])))
    metrics = {f"Acc@{k}": float(np.mean(per_event[k]) * 100.0) for k in range(1, 6)}
    metrics.update({f"Per_Vid_Top_{k}": float(np.mean(per_video[k]) * 100.0) for k in (1, 5)})
    class_recalls = [np.mean(hits) for hits in hits_by_verb.values() if len(hits) > recall_threshold]
    # The official `get_avg` returns 0 for an empty list; keep that, and report how many classes entered.
    metrics["Rec@5"] = float(np.mean(class_recalls) * 100.0) if class_recalls else 0.0
    metrics["num_verb_classes_rec@5"] = len(class_recalls)
    return metrics


def group_counts(groups: Sequence[Hashable]) -> Mapping[Hashable, int]:
    """Items per group (e.g. per SugarCrepe subset), in first-seen order."""
    return dict(Counter(groups))
