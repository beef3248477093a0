"""Metric functions of the evaluation suite: each benchmark's scoring rule, the tie rules, and per-item tables.

Nothing here reads files or touches a model: scores (or embeddings) in, numbers out. Accuracies and recalls are in
percent, ranks as ranks. Each benchmark's metrics are built as an `ItemTable` (per-item hits or ranks and how they
aggregate), so a number and its bootstrap confidence interval (`bootstrap.py`) come from the same values.

Scores must be finite: a NaN or ±inf raises `NonFiniteScoresError` with the number of such scores. (A NaN compares
false with everything, so it would otherwise land silently at one end of a ranking.)

Tie rules (a tie is an exact float equality of two scores; every function takes `ties=`, default `"expected"`):

* `"expected"`: the expected value under uniformly random tie-breaking. A query whose positive ties with t negatives
  while h negatives score strictly higher hits top-K with probability clamp((K - h) / (t + 1), 0, 1), and its rank
  is 1 + h + t / 2; MedR is the median of these per-query ranks. With P positives tied at the best positive score
  (VidSitu's annotator verbs), the hit is the probability that at least one of them lands in the K - h free places,
  and the rank is that of the first of them, 1 + h + t / (P + 1). Without ties this equals every benchmark's own
  number; a model that gives every candidate the same score gets chance level.
* `"optimistic"`: tied negatives rank below the positive (rank 1 + h). `"pessimistic"`: above it (rank 1 + h + t).
* `"official"`: what each benchmark's own code computes, ties included.
  - Retrieval (CLIP4Clip `metrics.compute_metrics`): each row is sorted with `np.sort` and `np.where(sorted ==
    positive)` keeps *every* position equal to the positive's score, so a query tied with t negatives contributes
    t + 1 entries (h, ..., h + t); R@K, MedR (`np.median`) and MnR are taken over all entries of all queries.
    Video->text is CLIP4Clip's protocol (under every rule): each video against the best caption of every video
    (`tensor_video_to_text_sim`), so the candidates are videos. Text->video with several captions per video ranks
    each caption by `torch.argsort(descending=True)` and takes `torch.median` (the lower middle value), as
    `tensor_text_to_video_metrics`; with one caption per video it is `compute_metrics` as above.
  - Action recognition (X-CLIP / ViFi-CLIP evaluation): top-k is a hit iff the label is in
    `torch.topk(scores, k).indices`. torch does not specify which of several tied scores `topk` returns, so with
    ties this is what the installed torch computes on CPU, which can differ between versions and devices.
    `mean_per_class` averages the same top-1 hits per class.
  - SugarCrepe (`main_eval.py`): correct iff the positive caption scores strictly higher; a tie is wrong.
  - ARO VG-Relation / VG-Attribution: `np.argmax([false, true]) == 1` and argmax returns the first maximum, so a tie
    is wrong. ARO COCO/Flickr-Order: `argmax == 0` over [original, 4 perturbations], so a tie with the original is
    right.
  - VidSitu verbs: the ranked top-5 VerbID lists (the leaderboard predictions; tied scores keep vocabulary order,
    the more frequent train VerbID first) scored as `vidsitu_code/evl_fns.py` scores them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import torch

from .bootstrap import GroupMean, ItemTable, Mean, MeanOf, Median, PooledMedian, Ratio, StdOf, items_digest

ArrayLike = np.ndarray | torch.Tensor | Sequence[float] | Sequence[Sequence[float]]
TieRule = Literal["expected", "optimistic", "pessimistic", "official"]
TIE_RULES: tuple[str, ...] = ("expected", "optimistic", "pessimistic", "official")
DEFAULT_TIES: TieRule = "expected"
PER_QUERY_TIE_RULES: tuple[str, ...] = ("expected", "optimistic", "pessimistic")

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

VIDSITU_TOP_K = 5


_OFFICIAL_RULES = {
    "retrieval": "CLIP4Clip compute_metrics: every sorted position equal to the positive's score enters one pooled "
    "rank list (np.sort + np.where); video->text against each video's best caption; text->video with several "
    "captions per video in torch.argsort order with torch.median",
    "classification": "X-CLIP/ViFi-CLIP: hit iff the label is in torch.topk(scores, k).indices (tied scores in the "
    "order the installed torch returns them)",
    "sugarcrepe": "SugarCrepe main_eval.py: correct iff sim(image, caption) > sim(image, negative_caption); a tie is "
    "wrong",
    "aro_vg": "ARO: np.argmax over [false, true] == 1; argmax takes the first maximum, so a tie is wrong",
    "aro_order": "ARO: np.argmax over [original, 4 perturbations] == 0; argmax takes the first maximum, so a tie with "
    "the original is right",
    "vidsitu": "top-5 VerbID lists (tied scores in vocabulary order) scored as vidsitu_code/evl_fns.py",
}
_PER_QUERY_RULES = {
    "expected": "expected value under uniformly random tie-breaking (top-K hit = clamp((K - #higher) / (#tied + 1), "
    "0, 1), rank = 1 + #higher + #tied / 2)",
    "optimistic": "ties resolved in favour of the correct candidate",
    "pessimistic": "ties resolved against the correct candidate",
}


def describe_ties(benchmark: str, ties: str) -> str:
    """One line for `results.json` saying how `ties` scores `benchmark` (a key of the official rules)."""
    check_tie_rule(ties)
    return f"official: {_OFFICIAL_RULES[benchmark]}" if ties == "official" else f"{ties}: {_PER_QUERY_RULES[ties]}"


class NonFiniteScoresError(ValueError):
    """Some scores are NaN or ±inf; the message says how many (evaluators add the task and the model)."""


# ----------------------------------------------------------------------------------------------------------- helpers
def _as_tensor(values: ArrayLike, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A CPU tensor; scores keep float64 if they have it and half precision is widened to float32, so that the
    conversion never creates or removes a tie."""
    tensor = values.detach().cpu() if isinstance(values, torch.Tensor) else torch.as_tensor(np.asarray(values))
    if dtype is not None:
        return tensor.to(dtype)
    return tensor if tensor.dtype == torch.float64 else tensor.to(torch.float32)


def _as_numpy(values: ArrayLike) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def check_tie_rule(ties: str, allowed: Sequence[str] = TIE_RULES) -> None:
    if ties not in allowed:
        raise ValueError(f"ties must be one of {tuple(allowed)}, got {ties!r}.")


def count_non_finite(scores: ArrayLike) -> int:
    """How many values are NaN or ±inf."""
    tensor = scores if isinstance(scores, torch.Tensor) else torch.as_tensor(np.asarray(scores, dtype=np.float64))
    return int((~torch.isfinite(tensor)).sum())


def check_finite(scores: ArrayLike, what: str = "scores") -> None:
    """Raise `NonFiniteScoresError` if any score is NaN or ±inf."""
    _raise_non_finite(count_non_finite(scores), int(np.prod(np.shape(scores))), what)


def _raise_non_finite(bad: int, total: int, what: str) -> None:
    if bad:
        raise NonFiniteScoresError(
            f"{bad} of {total} {what} are NaN or ±inf (a NaN cannot be ranked; check the embeddings and the dtype)."
        )


def percent(correct: ArrayLike) -> float:
    """Mean of a boolean/0-1 array in percent. An empty array is an error rather than a silent 0 or NaN."""
    array = _as_numpy(correct).astype(np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError("Cannot compute an accuracy over zero items.")
    return float(array.mean() * 100.0)


def group_counts(groups: Sequence[Hashable]) -> Mapping[Hashable, int]:
    """Items per group (e.g. per SugarCrepe subset), in first-seen order."""
    return dict(Counter(groups))


# ----------------------------------------------------------------------------------------------------------- ranks
class RankStats(NamedTuple):
    """Per query: negatives strictly above its best positive, negatives tied with it, positives tied with it (>= 1)."""

    higher: np.ndarray
    tied: np.ndarray
    tied_positives: np.ndarray

    @property
    def num_tied(self) -> int:
        """Queries whose best positive ties with at least one negative."""
        return int((self.tied > 0).sum())


def _positive_mask(positives, rows: slice, num_candidates: int) -> torch.Tensor:
    """`(rows, candidates)` bool mask from per-query positive indices (ints, lists of ints, or a bool matrix)."""
    if isinstance(positives, (np.ndarray, torch.Tensor)) and _as_numpy(positives).ndim == 2:
        mask = _as_tensor(positives, torch.bool)[rows]
        if mask.shape[1] != num_candidates:
            raise ValueError(f"positive mask has {mask.shape[1]} columns, the scores have {num_candidates}.")
        return mask
    selected = positives[rows]
    if isinstance(selected, (np.ndarray, torch.Tensor)) or all(isinstance(p, (int, np.integer)) for p in selected):
        indices = _as_tensor(selected, torch.long).reshape(-1)  # one positive per query: vectorised
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


def _block_stats(scores: torch.Tensor, positive_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
    best = scores.masked_fill(~positive_mask, float("-inf")).max(dim=1, keepdim=True).values
    at_best = scores == best
    return (
        ((scores > best) & ~positive_mask).sum(dim=1),
        (at_best & ~positive_mask).sum(dim=1),
        (at_best & positive_mask).sum(dim=1),
    )


def _stats_from_blocks(blocks: list[tuple[torch.Tensor, ...]]) -> RankStats:
    if not blocks:
        empty = np.zeros(0, dtype=np.int64)
        return RankStats(empty, empty, empty)
    return RankStats(*(torch.cat(parts).numpy().astype(np.int64) for parts in zip(*blocks)))


def rank_statistics(scores: ArrayLike, positives) -> RankStats:
    """`RankStats` of each row of `(queries, candidates)` scores (higher is better).

    `positives`: per query, the index of its positive candidate, a list of positive indices, or a
    `(queries, candidates)` bool mask.
    """
    scores_t = _as_tensor(scores)
    if scores_t.ndim != 2:
        raise ValueError(f"scores must be 2-D (queries, candidates), got shape {tuple(scores_t.shape)}.")
    if len(positives) != scores_t.shape[0]:
        raise ValueError(f"{len(positives)} positives for {scores_t.shape[0]} queries.")
    check_finite(scores_t)
    mask = _positive_mask(positives, slice(0, scores_t.shape[0]), scores_t.shape[1])
    return _stats_from_blocks([_block_stats(scores_t, mask)])


def _check_embeddings(queries: torch.Tensor, candidates: torch.Tensor, num_positives: int, chunk_size: int) -> None:
    if queries.ndim != 2 or candidates.ndim != 2 or queries.shape[1] != candidates.shape[1]:
        raise ValueError(
            f"embeddings must be (n, dim) with the same dim, got {tuple(queries.shape)} and {tuple(candidates.shape)}."
        )
    if num_positives != queries.shape[0]:
        raise ValueError(f"{num_positives} positives for {queries.shape[0]} queries.")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}.")


def embedding_rank_statistics(
    query_embeds: ArrayLike, candidate_embeds: ArrayLike, positives, chunk_size: int = 1024
) -> RankStats:
    """`RankStats` from embeddings (dot products) without materialising the full similarity matrix.

    Similarities are computed for `chunk_size` queries at a time, so 10k x 10k needs `chunk_size x 10k` floats at
    once instead of 10^8. Non-finite similarities are counted over every block before raising.
    """
    queries, candidates = _as_tensor(query_embeds), _as_tensor(candidate_embeds)
    _check_embeddings(queries, candidates, len(positives), chunk_size)
    blocks, non_finite = [], 0
    for start in range(0, queries.shape[0], chunk_size):
        rows = slice(start, min(start + chunk_size, queries.shape[0]))
        block = queries[rows] @ candidates.T
        non_finite += count_non_finite(block)
        blocks.append(_block_stats(block, _positive_mask(positives, rows, candidates.shape[0])))
    _raise_non_finite(non_finite, queries.shape[0] * candidates.shape[0], "similarities")
    return _stats_from_blocks(blocks)


def best_caption_rank_statistics(
    video_embeds: ArrayLike, text_embeds: ArrayLike, caption_video_index: Sequence[int], chunk_size: int = 1024
) -> RankStats:
    """Video->text `RankStats` under CLIP4Clip's protocol: each video ranks every video by its best caption.

    Row j, column i holds max over the captions c of video i of sim(c, video j) (`tensor_video_to_text_sim`), so
    the candidates are videos and the positive of video j is its own best caption.
    """
    videos, texts = _as_tensor(video_embeds), _as_tensor(text_embeds)
    _check_embeddings(videos, texts, videos.shape[0], chunk_size)
    owner = torch.as_tensor(list(caption_video_index), dtype=torch.long)
    if len(owner) != texts.shape[0]:
        raise ValueError(f"{len(owner)} caption->video indices for {texts.shape[0]} captions.")
    if len(owner) and (int(owner.min()) < 0 or int(owner.max()) >= videos.shape[0]):
        raise ValueError(f"caption->video indices must lie in [0, {videos.shape[0]}).")
    if set(owner.tolist()) != set(range(videos.shape[0])):
        raise ValueError("every video needs at least one caption for video->text retrieval.")
    blocks, non_finite = [], 0
    for start in range(0, videos.shape[0], chunk_size):
        rows = slice(start, min(start + chunk_size, videos.shape[0]))
        captions = videos[rows] @ texts.T
        non_finite += count_non_finite(captions)
        best = torch.full((captions.shape[0], videos.shape[0]), float("-inf")).scatter_reduce(
            1, owner.expand(captions.shape[0], -1), captions, reduce="amax"
        )
        diagonal = torch.arange(rows.start, rows.stop)
        blocks.append(_block_stats(best, _positive_mask(diagonal, slice(0, len(diagonal)), videos.shape[0])))
    _raise_non_finite(non_finite, videos.shape[0] * texts.shape[0], "similarities")
    return _stats_from_blocks(blocks)


def argsort_ranks(
    query_embeds: ArrayLike, candidate_embeds: ArrayLike, positives: Sequence[int], chunk_size: int = 1024
) -> np.ndarray:
    """1-based position of each query's positive in `torch.argsort(similarities, descending=True)` (CLIP4Clip's
    `tensor_text_to_video_metrics`: tied candidates are in whatever order that sort leaves them)."""
    queries, candidates = _as_tensor(query_embeds), _as_tensor(candidate_embeds)
    _check_embeddings(queries, candidates, len(positives), chunk_size)
    targets = torch.as_tensor(list(positives), dtype=torch.long)
    ranks, non_finite = [], 0
    for start in range(0, queries.shape[0], chunk_size):
        block = queries[start : start + chunk_size] @ candidates.T
        non_finite += count_non_finite(block)
        order = torch.argsort(block, dim=1, descending=True)
        ranks.append((order == targets[start : start + chunk_size, None]).int().argmax(dim=1) + 1)
    _raise_non_finite(non_finite, queries.shape[0] * candidates.shape[0], "similarities")
    return torch.cat(ranks).numpy().astype(np.int64) if ranks else np.zeros(0, dtype=np.int64)


# ----------------------------------------------------------------------------------------------------------- tie rules
def hit_probability(stats: RankStats, k: int, ties: str = DEFAULT_TIES) -> np.ndarray:
    """Per query, its top-k hit under a per-query tie rule: 0/1, or the probability under random tie-breaking."""
    check_tie_rule(ties, PER_QUERY_TIE_RULES)
    free = k - stats.higher  # places in the top k left for the tie group
    has_positive = stats.tied_positives > 0
    if ties == "optimistic":
        return ((free >= 1) & has_positive).astype(np.float64)
    if ties == "pessimistic":
        return ((free >= stats.tied + 1) & has_positive).astype(np.float64)
    # P(no positive among the first `free` of a random order of t negatives and P positives) = C(t, m) / C(t+P, m).
    tied = torch.as_tensor(stats.tied, dtype=torch.float64)
    positives = torch.as_tensor(stats.tied_positives, dtype=torch.float64)
    places = torch.as_tensor(free, dtype=torch.float64)
    partial = (places >= 1) & (places <= tied)
    m = torch.where(partial, places, torch.zeros_like(places))
    log_miss = (
        torch.lgamma(tied + 1) - torch.lgamma(tied - m + 1) - torch.lgamma(tied + positives + 1)
        + torch.lgamma(tied + positives - m + 1)
    )
    hit = torch.where(partial, 1.0 - torch.exp(log_miss), (places > tied).to(torch.float64)).numpy()
    # One positive (the common case): C(t, m) / C(t+1, m) = (t+1-m) / (t+1), so the hit is exactly m / (t+1).
    single = np.clip(free / (stats.tied + 1.0), 0.0, 1.0)
    hit = np.where(stats.tied_positives == 1, single, hit)
    return np.where(stats.tied_positives > 0, hit, 0.0)  # no positive candidate (VidSitu verb outside the vocabulary)


def rule_ranks(stats: RankStats, ties: str = DEFAULT_TIES) -> np.ndarray:
    """Per query, the (expected) 1-based rank of its first positive under a per-query tie rule."""
    check_tie_rule(ties, PER_QUERY_TIE_RULES)
    higher, tied = stats.higher.astype(np.float64), stats.tied.astype(np.float64)
    if ties == "optimistic":
        return 1.0 + higher
    if ties == "pessimistic":
        return 1.0 + higher + tied
    return 1.0 + higher + tied / (stats.tied_positives + 1.0)


# ----------------------------------------------------------------------------------------------------------- retrieval
def rank_table(
    stats: RankStats, ties: str, ks: Sequence[int] = (1, 5, 10), name: str = "queries", prefix: str = "",
    digest: str = "", lower_median: bool = False,
) -> ItemTable:
    """`R@K`, `MedR`, `MnR` of ranking queries, as per-query hits and ranks (the per-query tie rules). MedR is
    `np.median`, or the lower middle value with `lower_median` (where the benchmark's code uses `torch.median`)."""
    columns = {f"hit@{k}": hit_probability(stats, k, ties) for k in ks}
    columns["rank"] = rule_ranks(stats, ties)
    metrics = {f"{prefix}R@{k}": Mean(f"hit@{k}") for k in ks}
    metrics.update({f"{prefix}MedR": Median("rank", lower=lower_median), f"{prefix}MnR": Mean("rank", scale=1.0)})
    return ItemTable(name, columns, metrics, items_digest=digest)


def clip4clip_table(
    stats: RankStats, ks: Sequence[int] = (1, 5, 10), name: str = "queries", prefix: str = "", digest: str = ""
) -> ItemTable:
    """CLIP4Clip's `compute_metrics` with ties: a query tied with t negatives adds the t + 1 positions
    h, ..., h + t (0-based) to one pooled list, over which R@K, MedR and MnR are taken."""
    if (stats.tied_positives != 1).any():
        raise ValueError("CLIP4Clip's compute_metrics has exactly one positive per query (the diagonal).")
    low, count = stats.higher.astype(np.float64), stats.tied.astype(np.float64) + 1.0
    columns = {"low": low, "count": count, "position_sum": count * low + count * (count - 1.0) / 2.0}
    columns.update({f"within@{k}": np.clip(k - low, 0.0, count) for k in ks})
    metrics = {f"{prefix}R@{k}": Ratio(f"within@{k}", "count") for k in ks}
    metrics[f"{prefix}MedR"] = PooledMedian("low", "count", offset=1.0)
    metrics[f"{prefix}MnR"] = Ratio("position_sum", "count", scale=1.0, offset=1.0)
    return ItemTable(name, columns, metrics, items_digest=digest)


def argsort_rank_table(
    ranks: np.ndarray, ks: Sequence[int] = (1, 5, 10), name: str = "queries", prefix: str = "", digest: str = ""
) -> ItemTable:
    """R@K, MedR (`torch.median`: the lower middle value) and MnR of 1-based integer ranks."""
    ranks = np.asarray(ranks, dtype=np.float64)
    columns = {f"hit@{k}": (ranks <= k).astype(np.float64) for k in ks}
    columns["rank"] = ranks
    metrics = {f"{prefix}R@{k}": Mean(f"hit@{k}") for k in ks}
    metrics.update({f"{prefix}MedR": Median("rank", lower=True), f"{prefix}MnR": Mean("rank", scale=1.0)})
    return ItemTable(name, columns, metrics, items_digest=digest)


def retrieval_metrics_from_similarity(
    similarity: ArrayLike, ties: TieRule = DEFAULT_TIES, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """R@K, MedR, MnR (and `num_tied`, the queries tied with a negative) of a square similarity matrix whose diagonal
    holds the ground truth, rows being the queries (CLIP4Clip's layout). `ties="official"` is CLIP4Clip's
    `compute_metrics`, ties included."""
    check_tie_rule(ties)
    scores = _as_tensor(similarity)
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1]:
        raise ValueError(f"similarity must be square (ground truth on the diagonal), got {tuple(scores.shape)}.")
    stats = rank_statistics(scores, np.arange(scores.shape[0]))
    table = clip4clip_table(stats, ks) if ties == "official" else rank_table(stats, ties, ks)
    return {**table.evaluate(), "num_tied": stats.num_tied}


@dataclass
class RetrievalOutcome:
    """Text->video and video->text tables (metrics `t2v_*`, `v2t_*`) and how many queries tied with a negative."""

    tables: list[ItemTable]
    num_tied: dict[str, int]

    def metrics(self) -> dict[str, float]:
        return {name: value for table in self.tables for name, value in table.evaluate().items()}


def text_video_retrieval(
    text_embeds: ArrayLike,
    video_embeds: ArrayLike,
    caption_video_index: Sequence[int],
    ties: TieRule = DEFAULT_TIES,
    ks: Sequence[int] = (1, 5, 10),
    chunk_size: int = 1024,
    caption_keys: Sequence[Hashable] | None = None,
) -> RetrievalOutcome:
    """Both directions of text-video retrieval from L2-normalised embeddings (see the module docstring for `ties`).

    Text->video ranks each caption's video among all videos. Video->text follows CLIP4Clip with every rule: each
    video ranks every video by that video's best caption, so the candidates are videos (with one caption per video
    this is plain video->caption ranking). So every rule gives the official numbers when nothing ties.
    """
    check_tie_rule(ties)
    index = list(caption_video_index)
    keys = list(caption_keys) if caption_keys is not None else list(range(len(index)))
    t2v_digest, v2t_digest = items_digest(zip(keys, index)), items_digest(sorted(set(index)))
    one_caption_each = len(index) == len(set(index))
    t2v = embedding_rank_statistics(text_embeds, video_embeds, index, chunk_size)
    v2t = best_caption_rank_statistics(video_embeds, text_embeds, index, chunk_size)
    if ties != "official":
        tables = [
            # CLIP4Clip takes torch.median (the lower middle rank) for text->video with several captions per video.
            rank_table(t2v, ties, ks, "t2v_queries", "t2v_", t2v_digest, lower_median=not one_caption_each),
            rank_table(v2t, ties, ks, "v2t_queries", "v2t_", v2t_digest),
        ]
    elif one_caption_each:  # compute_metrics in both directions
        tables = [
            clip4clip_table(t2v, ks, "t2v_queries", "t2v_", t2v_digest),
            clip4clip_table(v2t, ks, "v2t_queries", "v2t_", v2t_digest),
        ]
    else:  # several captions per video: tensor_text_to_video_metrics for text->video
        ranks = argsort_ranks(text_embeds, video_embeds, index, chunk_size)
        tables = [
            argsort_rank_table(ranks, ks, "t2v_queries", "t2v_", t2v_digest),
            clip4clip_table(v2t, ks, "v2t_queries", "v2t_", v2t_digest),
        ]
    return RetrievalOutcome(tables, {"t2v": t2v.num_tied, "v2t": v2t.num_tied})


# ----------------------------------------------------------------------------------------------------------- classification
def classification_hits(
    scores: ArrayLike, labels: ArrayLike, ks: Sequence[int] = (1, 5), ties: TieRule = DEFAULT_TIES
) -> dict[int, np.ndarray]:
    """k -> per-item top-k hit (0/1, or its probability under `"expected"`) of `(items, classes)` scores."""
    check_tie_rule(ties)
    scores_t = _as_tensor(scores)
    labels_t = _as_tensor(labels, torch.long).reshape(-1)
    if scores_t.ndim != 2 or scores_t.shape[0] != labels_t.shape[0]:
        raise ValueError(f"scores must be (items, classes) with one label per item, got {tuple(scores_t.shape)} "
                         f"and {labels_t.shape[0]} labels.")
    if ties != "official":
        stats = rank_statistics(scores_t, labels_t)
        return {k: hit_probability(stats, k, ties) for k in ks}
    check_finite(scores_t)
    hits = {}
    for k in ks:
        # X-CLIP / ViFi-CLIP: `label in similarity.topk(k).indices` (k capped at the number of classes).
        top = torch.topk(scores_t, min(k, scores_t.shape[1]), dim=-1).indices
        hits[k] = (top == labels_t[:, None]).any(dim=1).numpy().astype(np.float64)
    return hits


def classification_table(
    splits: Mapping[str, tuple[ArrayLike, ArrayLike]],
    ks: Sequence[int] = (1, 5),
    ties: TieRule = DEFAULT_TIES,
    digest: str = "",
) -> ItemTable:
    """`top{k}` and `mean_per_class` (top-1 recall averaged over the classes present) per split (`{split}/top1`,
    ...) and their mean over the splits (`top1`, ...), plus `top1_std` over splits when there are several.

    Items are resampled within their class of their split, so every class keeps its size.
    """
    computed = sorted({1, *ks})  # top-1 hits also feed mean_per_class and top1_std
    hits: dict[int, list[np.ndarray]] = {k: [] for k in computed}
    split_labels, class_labels = [], []
    for split, (scores, labels) in splits.items():
        labels_np = _as_numpy(labels).astype(np.int64).reshape(-1)
        for k, values in classification_hits(scores, labels_np, computed, ties).items():
            hits[k].append(values)
        split_labels += [split] * len(labels_np)
        class_labels += [f"{split}/{label}" for label in labels_np.tolist()]
    metrics: dict = {}
    for split in splits:
        where = ("split", (split,))
        metrics.update({f"{split}/top{k}": Mean(f"hit@{k}", where=where) for k in computed})
        metrics[f"{split}/mean_per_class"] = GroupMean("hit@1", "class", where=where)
    for name in [f"top{k}" for k in ks] + ["mean_per_class"]:
        metrics[name] = MeanOf(tuple(metrics[f"{split}/{name}"] for split in splits))
    if len(splits) > 1:
        metrics["top1_std"] = StdOf(tuple(metrics[f"{split}/top1"] for split in splits))
    if 1 not in ks:
        metrics = {name: aggregate for name, aggregate in metrics.items() if name.split("/")[-1] != "top1"}
    return ItemTable(
        "videos",
        {f"hit@{k}": np.concatenate(values) for k, values in hits.items()},
        metrics,
        groups={"split": np.asarray(split_labels), "class": np.asarray(class_labels)},
        strata="class",
        items_digest=digest,
    )


def classification_metrics(
    scores: ArrayLike, labels: ArrayLike, ks: Sequence[int] = (1, 5), ties: TieRule = DEFAULT_TIES
) -> dict[str, float]:
    """`top{k}` accuracies and `mean_per_class` (top-1 recall averaged over the classes present), in percent.

    Classes without test items are left out of `mean_per_class` (as sklearn's `balanced_accuracy_score`).
    """
    table = classification_table({"all": (scores, labels)}, ks, ties)
    return {name: value for name, value in table.evaluate().items() if "/" not in name}


# ----------------------------------------------------------------------------------------------------------- caption selection
def preference_correct(
    positive_scores: ArrayLike, negative_scores: ArrayLike, ties: TieRule = DEFAULT_TIES
) -> np.ndarray:
    """Per item: 1 if the positive caption scores higher than the negative, 0 if lower; a tie counts 0.5
    (`"expected"`), 1 (`"optimistic"`) or 0 (`"pessimistic"`, and `"official"`: SugarCrepe's strict `>`)."""
    check_tie_rule(ties)
    positive = _as_numpy(positive_scores).astype(np.float64).reshape(-1)
    negative = _as_numpy(negative_scores).astype(np.float64).reshape(-1)
    if positive.shape != negative.shape:
        raise ValueError(f"{positive.size} positive scores but {negative.size} negative scores.")
    check_finite(np.concatenate([positive, negative]))
    tie_value = {"expected": 0.5, "optimistic": 1.0, "pessimistic": 0.0, "official": 0.0}[ties]
    return np.where(positive == negative, tie_value, (positive > negative).astype(np.float64))


def option_correct(scores: ArrayLike, correct_index: int, ties: TieRule = DEFAULT_TIES) -> np.ndarray:
    """Per item of `(items, options)` scores: whether option `correct_index` is the top-scoring one.

    `"official"` is ARO's `np.argmax(scores, -1) == correct_index`, which takes the first maximum on ties.
    """
    check_tie_rule(ties)
    array = _as_numpy(scores).astype(np.float64)
    if array.ndim != 2:
        raise ValueError(f"scores must be (items, options), got shape {array.shape}.")
    check_finite(array)
    if ties == "official":
        return (np.argmax(array, axis=-1) == correct_index).astype(np.float64)
    return hit_probability(rank_statistics(array, np.full(len(array), correct_index)), 1, ties)


def sugarcrepe_table(correct: ArrayLike, subsets: Sequence[str], digest: str = "") -> ItemTable:
    """Accuracy per SugarCrepe subset and the `replace`/`swap`/`add` micro-averages over the subsets present;
    items are resampled within their subset."""
    correct_np = _as_numpy(correct).astype(np.float64).reshape(-1)
    subsets_np = np.asarray(list(subsets))
    if correct_np.shape != subsets_np.shape:
        raise ValueError(f"{correct_np.size} correctness flags for {subsets_np.size} subset names.")
    if correct_np.size == 0:
        raise ValueError("Cannot compute SugarCrepe accuracies over zero items.")
    present = list(dict.fromkeys(subsets_np.tolist()))
    metrics: dict = {subset: Mean("correct", where=("subset", (subset,))) for subset in present}
    for category, members in SUGARCREPE_CATEGORIES.items():
        chosen = tuple(m for m in members if m in present)
        if chosen:
            metrics[category] = Mean("correct", where=("subset", chosen))
    return ItemTable("items", {"correct": correct_np}, metrics, {"subset": subsets_np}, "subset", digest)


def sugarcrepe_metrics(correct: ArrayLike, subsets: Sequence[str]) -> dict[str, float]:
    """Accuracy per SugarCrepe subset plus the category micro-averages, from per-item correctness (0-1)."""
    return sugarcrepe_table(correct, subsets).evaluate()


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
    correct_np = _as_numpy(correct).astype(np.float64).reshape(-1)
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


def aro_vg_table(correct: ArrayLike, groups: Sequence[str], kept_groups: Sequence[str], digest: str = "") -> ItemTable:
    """ARO VG tasks: `macro_accuracy` over `kept_groups` and plain `accuracy`; items resampled within their group."""
    return ItemTable(
        "items",
        {"correct": _as_numpy(correct).astype(np.float64).reshape(-1)},
        {"macro_accuracy": GroupMean("correct", "group", keep=tuple(kept_groups)), "accuracy": Mean("correct")},
        {"group": np.asarray(list(groups))},
        "group",
        digest,
    )


def aro_vg_relation_metrics(
    scores: ArrayLike, relation_names: Sequence[str], excluded_relations: Sequence[str], ties: TieRule = DEFAULT_TIES
) -> dict:
    """ARO VG-Relation: `scores` is `(items, 2)` for `[false_caption, true_caption]`.

    `macro_accuracy` averages the per-relation accuracies over relations not in the official excluded list
    (`aro_vg_relation_excluded.json`); `accuracy` is the plain accuracy over every item.
    """
    correct = option_correct(scores, 1, ties)
    grouped = macro_accuracy(correct, list(relation_names), exclude=excluded_relations)
    return {
        **aro_vg_table(correct, relation_names, grouped.kept_groups).evaluate(),
        "num_relations_in_macro": len(grouped.kept_groups),
        "num_items_in_macro": int(sum(grouped.counts[g] for g in grouped.kept_groups)),
        "per_relation": grouped.per_group,
        "per_relation_count": grouped.counts,
    }


def aro_vg_attribution_metrics(
    scores: ArrayLike,
    attribute_pairs: Sequence[str],
    min_count: int = ARO_VG_ATTRIBUTION_MIN_COUNT,
    ties: TieRule = DEFAULT_TIES,
) -> dict:
    """ARO VG-Attribution: macro accuracy over `f"{attr1}_{attr2}"` keys with at least `min_count` (25) items."""
    correct = option_correct(scores, 1, ties)
    grouped = macro_accuracy(correct, list(attribute_pairs), min_count=min_count)
    return {
        **aro_vg_table(correct, attribute_pairs, grouped.kept_groups).evaluate(),
        "num_pairs_in_macro": len(grouped.kept_groups),
        "num_items_in_macro": int(sum(grouped.counts[g] for g in grouped.kept_groups)),
        "per_pair": {g: grouped.per_group[g] for g in grouped.kept_groups},
    }


def aro_order_table(scores: ArrayLike, ties: TieRule = DEFAULT_TIES, digest: str = "") -> ItemTable:
    """ARO COCO-/Flickr30k-Order: `(items, 5)` scores with the original caption first; `accuracy` = Precision@1."""
    return ItemTable("items", {"correct": option_correct(scores, 0, ties)}, {"accuracy": Mean("correct")},
                     items_digest=digest)


def aro_order_metrics(scores: ArrayLike, ties: TieRule = DEFAULT_TIES) -> dict:
    """ARO COCO-/Flickr30k-Order Precision@1 (`accuracy`)."""
    return aro_order_table(scores, ties).evaluate()


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


@dataclass
class VerbHits:
    """Per event, its Acc@k hits (k = 1..5); per Rec@5 instance (a verb chosen by >= 2 annotators of an event),
    its verb and whether it is in the top 5. Hits are 0/1, or probabilities under random tie-breaking."""

    clip_of_event: np.ndarray  # (events,)
    event_hits: np.ndarray  # (events, 5)
    instance_events: np.ndarray  # (instances,) the event of each Rec@5 instance
    instance_verbs: list[str]
    instance_hits: np.ndarray  # (instances,)


def _annotator_sets(ground_truth: Sequence[Sequence[Sequence[str]]]) -> list[tuple[int, list[str]]]:
    """(clip index, the first 10 annotator VerbIDs) per event, clip by clip."""
    return [(c, list(event)[:10]) for c, clip in enumerate(ground_truth) for event in clip]


def _recall_verbs(annotators: Sequence[str]) -> list[str]:
    # Counter.most_common order, as `vb_classf_metrics_all` iterates it.
    return [verb for verb, count in Counter(annotators).most_common() if count >= 2]


def verb_hits_from_lists(
    predictions: Sequence[Sequence[Sequence[str]]], ground_truth: Sequence[Sequence[Sequence[str]]]
) -> VerbHits:
    """`VerbHits` of ranked VerbID lists, exactly as `EvlFn_Vb.vb_classf_metrics_all` counts them."""
    if len(predictions) != len(ground_truth):
        raise ValueError(f"{len(predictions)} predicted clips but {len(ground_truth)} ground-truth clips.")
    if not predictions:
        raise ValueError("Cannot compute VidSitu verb metrics over zero clips.")
    for index, (clip_pred, clip_gt) in enumerate(zip(predictions, ground_truth)):
        if len(clip_pred) != len(clip_gt):
            raise ValueError(f"clip {index}: {len(clip_pred)} predicted events but {len(clip_gt)} annotated.")
    events = _annotator_sets(ground_truth)
    ranked = [list(event)[:VIDSITU_TOP_K] for clip in predictions for event in clip]
    event_hits = np.array(
        [[float(bool(set(top[:k]) & set(annotators))) for k in range(1, 6)] for top, (_, annotators) in
         zip(ranked, events)]
    )
    instance_events, verbs, hits = [], [], []
    for row, (top, (_, annotators)) in enumerate(zip(ranked, events)):
        for verb in _recall_verbs(annotators):
            instance_events.append(row)
            verbs.append(verb)
            hits.append(float(verb in set(top)))
    return VerbHits(np.array([c for c, _ in events]), event_hits, np.array(instance_events, dtype=np.int64), verbs,
                    np.array(hits))


def verb_hits_from_scores(
    scores: ArrayLike, verb_ids: Sequence[str], ground_truth: Sequence[Sequence[Sequence[str]]],
    ties: TieRule = DEFAULT_TIES,
) -> VerbHits:
    """`VerbHits` of `(events, verbs)` scores (events clip by clip) under a per-query tie rule: Acc@k counts an event
    when any of its annotator VerbIDs reaches the top k; a Rec@5 instance when its verb reaches the top 5."""
    check_tie_rule(ties, PER_QUERY_TIE_RULES)
    scores_t = _as_tensor(scores, torch.float64)
    events = _annotator_sets(ground_truth)
    if scores_t.shape != (len(events), len(verb_ids)):
        raise ValueError(f"scores must be ({len(events)} events, {len(verb_ids)} verbs), got {tuple(scores_t.shape)}.")
    column = {verb: i for i, verb in enumerate(verb_ids)}
    # An event whose annotator verbs are all outside the vocabulary has no positive: it can never be a hit.
    mask = torch.zeros(scores_t.shape, dtype=torch.bool)
    for row, (_, annotators) in enumerate(events):
        mask[row, [column[v] for v in set(annotators) if v in column]] = True
    stats = rank_statistics(scores_t, mask)
    event_hits = np.stack([hit_probability(stats, k, ties) for k in range(1, 6)], axis=1)
    instance_rows, instance_columns, verbs = [], [], []
    for row, (_, annotators) in enumerate(events):
        for verb in _recall_verbs(annotators):
            instance_rows.append(row)
            instance_columns.append(column.get(verb, -1))
            verbs.append(verb)
    hits = np.zeros(len(verbs))
    known = np.array([c >= 0 for c in instance_columns], dtype=bool)
    if known.any():
        rows = torch.as_tensor(np.array(instance_rows)[known])
        targets = np.array(instance_columns)[known]
        hits[known] = hit_probability(rank_statistics(scores_t[rows], targets), VIDSITU_TOP_K, ties)
    return VerbHits(np.array([c for c, _ in events]), event_hits, np.array(instance_rows, dtype=np.int64), verbs, hits)


def vidsitu_verb_tables(
    hits: VerbHits, recall_threshold: int = VIDSITU_RECALL_THRESHOLD, clip_keys: Sequence[Hashable] | None = None
) -> list[ItemTable]:
    """`Acc@1..5`, `Per_Vid_Top_1/5` over clips (resampled as whole clips) and `Rec@5` over its instances
    (resampled within their verb class), as `vidsitu_verb_metrics` defines them."""
    num_clips = int(hits.clip_of_event.max()) + 1
    per_clip_sum = np.zeros((num_clips, 5))
    per_clip_all = np.ones((num_clips, 5))
    np.add.at(per_clip_sum, hits.clip_of_event, hits.event_hits)
    np.multiply.at(per_clip_all, hits.clip_of_event, hits.event_hits)  # all events right (a product of chances)
    columns = {f"acc@{k}_sum": per_clip_sum[:, k - 1] for k in range(1, 6)}
    columns["events"] = np.bincount(hits.clip_of_event, minlength=num_clips).astype(np.float64)
    columns.update({f"all@{k}": per_clip_all[:, k - 1] for k in (1, 5)})
    metrics = {f"Acc@{k}": Ratio(f"acc@{k}_sum", "events") for k in range(1, 6)}
    metrics.update({f"Per_Vid_Top_{k}": Mean(f"all@{k}") for k in (1, 5)})
    keys = list(clip_keys) if clip_keys is not None else list(range(num_clips))
    tables = [ItemTable("clips", columns, metrics, items_digest=items_digest(keys))]
    if hits.instance_verbs:
        counts = Counter(hits.instance_verbs)
        kept = tuple(sorted(v for v, n in counts.items() if n > recall_threshold))
        tables.append(ItemTable(
            "rec5_instances",
            {"hit": hits.instance_hits},
            {"Rec@5": GroupMean("hit", "verb", keep=kept, empty_value=0.0)},
            {"verb": np.asarray(hits.instance_verbs)},
            "verb",
            items_digest((keys[hits.clip_of_event[e]], v) for e, v in zip(hits.instance_events, hits.instance_verbs)),
        ))
    return tables


def _vidsitu_summary(
    hits: VerbHits, recall_threshold: int, clip_keys: Sequence[Hashable] | None = None
) -> tuple[dict[str, float], list[ItemTable]]:
    tables = vidsitu_verb_tables(hits, recall_threshold, clip_keys)
    metrics = {name: value for table in tables for name, value in table.evaluate().items()}
    counts = Counter(hits.instance_verbs)
    metrics.setdefault("Rec@5", 0.0)  # no Rec@5 instance at all; the official `get_avg([])` is 0
    metrics["num_verb_classes_rec@5"] = sum(1 for n in counts.values() if n > recall_threshold)
    return metrics, tables


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
    return _vidsitu_summary(verb_hits_from_lists(predictions, ground_truth), recall_threshold)[0]


def vidsitu_verb_evaluation(
    scores: ArrayLike,
    verb_ids: Sequence[str],
    ground_truth: Sequence[Sequence[Sequence[str]]],
    ties: TieRule = DEFAULT_TIES,
    recall_threshold: int = VIDSITU_RECALL_THRESHOLD,
    clip_keys: Sequence[Hashable] | None = None,
) -> tuple[dict[str, float], list[ItemTable]]:
    """The metrics of `vidsitu_verb_metrics` from `(events, verbs)` scores (events clip by clip), and their tables.

    `"official"` ranks the scores into top-5 lists first (tied scores in vocabulary order, as the leaderboard
    predictions) and scores those lists; the other rules score the ranking itself.
    """
    check_tie_rule(ties)
    if ties == "official":
        top, _ = topk_labels(scores, verb_ids, VIDSITU_TOP_K)
        starts = np.cumsum([0, *(len(clip) for clip in ground_truth)])
        lists = [top[start:stop] for start, stop in zip(starts[:-1], starts[1:])]
        hits = verb_hits_from_lists(lists, ground_truth)
    else:
        hits = verb_hits_from_scores(scores, verb_ids, ground_truth, ties)
    return _vidsitu_summary(hits, recall_threshold, clip_keys)


def vidsitu_verb_metrics_from_scores(
    scores: ArrayLike,
    verb_ids: Sequence[str],
    ground_truth: Sequence[Sequence[Sequence[str]]],
    ties: TieRule = DEFAULT_TIES,
    recall_threshold: int = VIDSITU_RECALL_THRESHOLD,
) -> dict[str, float]:
    """`vidsitu_verb_evaluation`'s metrics alone."""
    return vidsitu_verb_evaluation(scores, verb_ids, ground_truth, ties, recall_threshold)[0]
