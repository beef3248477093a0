"""Metric functions against values computed by hand: every tie rule on tied inputs, each benchmark's official rule,
non-finite scores, and (without ties) torchmetrics as an outside reference."""

import numpy as np
import pytest
import torch

from modeling_figclip.evaluation import NonFiniteScoresError, classification_metrics, retrieval_metrics_from_similarity
from modeling_figclip.evaluation import metrics as M

# Rows are queries, the diagonal is the positive.
#   query 0: nothing above, no tie                      -> rank 1
#   query 1: one negative above (0.7), one tied (0.2)   -> expected rank 1 + 1 + 1/2 = 2.5
#   query 2: nothing above, two tied                    -> expected rank 1 + 0 + 2/2 = 2
SCORES = [[0.9, 0.5, 0.1], [0.2, 0.2, 0.7], [0.3, 0.3, 0.3]]


# ----------------------------------------------------------------------------------------------------------- tie rules
def test_collapsed_model_scores_chance_under_the_default_rule():
    collapsed = np.ones((8, 8))  # every candidate gets the same score
    metrics = retrieval_metrics_from_similarity(collapsed, ks=(1, 5, 10))
    assert metrics["R@1"] == pytest.approx(100 / 8)
    assert metrics["R@5"] == pytest.approx(500 / 8)
    assert metrics["R@10"] == 100.0
    assert metrics["MedR"] == metrics["MnR"] == pytest.approx(4.5)  # (N + 1) / 2
    assert metrics["num_tied"] == 8
    assert classification_metrics(np.zeros((12, 6)), np.arange(12) % 6)["top1"] == pytest.approx(100 / 6)
    assert classification_metrics(np.zeros((12, 6)), np.arange(12) % 6)["top5"] == pytest.approx(500 / 6)
    # The old default counted every tie at the top as a hit: a collapsed model looked perfect.
    assert retrieval_metrics_from_similarity(collapsed, ties="optimistic")["R@1"] == 100.0
    assert retrieval_metrics_from_similarity(collapsed, ties="pessimistic")["R@1"] == 0.0


def test_partial_ties_give_the_expected_value_computed_by_hand():
    metrics = retrieval_metrics_from_similarity(SCORES, ks=(1, 2, 3))
    # R@1: query 0 hits, query 1 cannot (one negative above), query 2 wins a 3-way tie with probability 1/3.
    assert metrics["R@1"] == pytest.approx(100 * (1 + 0 + 1 / 3) / 3)
    # R@2: query 1 takes the one free place with probability 1/2 (tied with one negative); query 2: 2 places of 3.
    assert metrics["R@2"] == pytest.approx(100 * (1 + 1 / 2 + 2 / 3) / 3)
    assert metrics["R@3"] == 100.0
    assert metrics["MnR"] == pytest.approx((1 + 2.5 + 2) / 3)
    assert metrics["MedR"] == 2.0
    assert metrics["num_tied"] == 2


def test_optimistic_and_pessimistic_rules():
    optimistic = retrieval_metrics_from_similarity(SCORES, ties="optimistic", ks=(1,))
    pessimistic = retrieval_metrics_from_similarity(SCORES, ties="pessimistic", ks=(1,))
    assert optimistic["MnR"] == pytest.approx((1 + 2 + 1) / 3) and optimistic["R@1"] == pytest.approx(200 / 3)
    assert pessimistic["MnR"] == pytest.approx((1 + 3 + 3) / 3) and pessimistic["R@1"] == pytest.approx(100 / 3)


def test_several_tied_positives_expected_value():
    # Positives 0 and 1 tie with negatives 2 and 3 (P = 2, t = 2, nothing above).
    stats = M.rank_statistics([[0.5, 0.5, 0.5, 0.5, 0.1]], [[0, 1]])
    assert (stats.higher[0], stats.tied[0], stats.tied_positives[0]) == (0, 2, 2)
    # top-1: 2 of the 4 tied candidates are positives -> 1/2; top-2: P(no positive in 2 of 4) = 1/6 -> 5/6.
    assert M.hit_probability(stats, 1)[0] == pytest.approx(0.5)
    assert M.hit_probability(stats, 2)[0] == pytest.approx(5 / 6)
    assert M.hit_probability(stats, 3)[0] == 1.0
    assert M.rule_ranks(stats)[0] == pytest.approx(1 + 2 / 3)  # expected first position of 2 among 4: 5/3
    # A tie between two positives is not a tie with a negative.
    assert M.rank_statistics([[0.8, 0.8, 0.1]], [[0, 1]]).num_tied == 0


def test_ranks_reject_bad_input():
    with pytest.raises(ValueError, match="ties"):
        retrieval_metrics_from_similarity(np.eye(3), ties="random")
    with pytest.raises(ValueError, match="outside"):
        M.rank_statistics(SCORES, [0, 1, 3])
    with pytest.raises(ValueError, match="positives for"):
        M.rank_statistics(SCORES, [0, 1])
    with pytest.raises(ValueError, match="no positive"):
        M.rank_statistics([[0.1, 0.2]], [[]])
    with pytest.raises(ValueError, match="square"):
        retrieval_metrics_from_similarity(np.ones((2, 3)))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_scores_are_an_error_with_their_count(bad):
    similarity = np.eye(4)
    similarity[1, 1] = bad  # a NaN on the diagonal used to be ranked first
    similarity[2, 0] = bad
    with pytest.raises(NonFiniteScoresError, match="2 of 16 scores are NaN or ±inf"):
        retrieval_metrics_from_similarity(similarity)
    with pytest.raises(NonFiniteScoresError, match="2 of 16"):
        classification_metrics(similarity, [0, 1, 2, 3])
    with pytest.raises(NonFiniteScoresError, match="1 of 4"):
        M.preference_correct([0.5, bad], [0.4, 0.1])
    embeds = torch.eye(3)
    embeds[0, 0] = bad
    with pytest.raises(NonFiniteScoresError, match="3 of 9 similarities"):  # counted over every block
        M.embedding_rank_statistics(embeds, torch.eye(3), [0, 1, 2], chunk_size=1)


# ----------------------------------------------------------------------------------------------------------- retrieval
def test_msrvtt_official_rule_is_clip4clips_pooled_positions():
    # CLIP4Clip compute_metrics on SCORES: np.sort(-x) row by row, then every position equal to the positive:
    #   query 0 -> [0]; query 1 (sorted 0.7, 0.2, 0.2) -> [1, 2]; query 2 -> [0, 1, 2]. Pooled: [0, 1, 2, 0, 1, 2].
    official = retrieval_metrics_from_similarity(SCORES, ties="official", ks=(1, 2))
    assert official["R@1"] == pytest.approx(100 * 2 / 6)
    assert official["R@2"] == pytest.approx(100 * 4 / 6)
    assert official["MedR"] == 2.0  # np.median([0, 0, 1, 1, 2, 2]) + 1
    assert official["MnR"] == 2.0  # mean + 1
    # A collapsed 4x4 matrix: each query adds positions 0..3, so R@1 = 4 / 16 and MedR = 1.5 + 1.
    collapsed = retrieval_metrics_from_similarity(np.ones((4, 4)), ties="official")
    assert collapsed["R@1"] == 25.0 and collapsed["MedR"] == 2.5 and collapsed["MnR"] == 2.5


def test_official_video_to_text_ranks_videos_by_their_best_caption():
    # 3 videos (one-hot), 5 captions: video 0 has captions 0 and 3, video 1 has 1 and 4, video 2 has 2.
    videos = torch.eye(3)
    captions = torch.tensor([[0.2, 0.9, 0.0], [0.0, 0.5, 0.0], [0.0, 0.3, 0.8], [0.6, 0.0, 0.0], [0.0, 0.1, 0.9]])
    outcome = M.text_video_retrieval(captions, videos, [0, 1, 2, 0, 1], ties="official", ks=(1, 2))
    v2t = outcome.tables[1].evaluate()
    # Best captions per (video j, video i): video 0 -> [0.6, 0.0, 0.0] (rank 1); video 1 -> [0.9, 0.5, 0.3]
    # (rank 2); video 2 -> [0.0, 0.9, 0.8] (rank 2).
    assert v2t["v2t_R@1"] == pytest.approx(100 / 3) and v2t["v2t_R@2"] == 100.0
    assert v2t["v2t_MnR"] == pytest.approx(5 / 3)
    # Text->video with several captions per video: ranks in torch.argsort order, lower median (torch.median).
    t2v = outcome.tables[0].evaluate()
    ranks = [2, 1, 1, 1, 2]  # caption 0 prefers video 1; caption 4 prefers video 2 over its own video 1
    assert t2v["t2v_R@1"] == pytest.approx(60.0) and t2v["t2v_MedR"] == 1.0
    assert t2v["t2v_MnR"] == pytest.approx(np.mean(ranks))


def test_official_text_to_video_with_several_captions_follows_torch_argsort_on_ties():
    videos = torch.eye(4)
    captions = torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.0, 0.1, 0.9, 0.0]])
    ranks = M.argsort_ranks(captions, videos, [1, 3, 2])
    order = torch.argsort(captions @ videos.T, dim=1, descending=True)  # what tensor_text_to_video_metrics sorts
    assert ranks.tolist() == [int((order[i] == p).nonzero()) + 1 for i, p in enumerate([1, 3, 2])]


def test_expected_rule_with_several_captions_per_video():
    videos = torch.eye(2)
    captions = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])  # caption 1 (of video 0) ties both videos
    outcome = M.text_video_retrieval(captions, videos, [0, 0, 1], ks=(1,))
    assert outcome.tables[0].evaluate()["t2v_R@1"] == pytest.approx(100 * (1 + 0.5 + 1) / 3)
    assert outcome.num_tied == {"t2v": 1, "v2t": 0}


def test_every_rule_gives_the_official_numbers_without_ties_even_with_several_captions_per_video():
    generator = torch.Generator().manual_seed(4)
    videos = torch.nn.functional.normalize(torch.randn(6, 8, generator=generator), dim=-1)
    captions = torch.nn.functional.normalize(torch.randn(16, 8, generator=generator), dim=-1)
    owners = [i % 6 for i in range(16)]  # an even number of queries: the two medians differ
    official = M.text_video_retrieval(captions, videos, owners, ties="official").metrics()
    for ties in M.PER_QUERY_TIE_RULES:
        assert M.text_video_retrieval(captions, videos, owners, ties=ties).metrics() == pytest.approx(official)


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 1000])
def test_chunked_rank_statistics_equal_the_full_matrix(chunk_size):
    generator = torch.Generator().manual_seed(0)
    queries = torch.nn.functional.normalize(torch.randn(20, 8, generator=generator), dim=-1)
    candidates = torch.nn.functional.normalize(torch.randn(15, 8, generator=generator), dim=-1)
    positives = torch.randint(0, 15, (20,), generator=generator)
    full = M.rank_statistics(queries @ candidates.T, positives)
    chunked = M.embedding_rank_statistics(queries, candidates, positives, chunk_size=chunk_size)
    for ours, reference in zip(chunked, full):
        assert ours.tolist() == reference.tolist()


@pytest.mark.slow
def test_ten_thousand_squared_retrieval_in_bounded_memory():
    """10k x 10k: blocks of 1024 rows (40 MB each) instead of a 400 MB matrix; the diagonal is the ground truth."""
    generator = torch.Generator().manual_seed(3)
    embeds = torch.nn.functional.normalize(torch.randn(10_000, 16, generator=generator), dim=-1)
    stats = M.embedding_rank_statistics(embeds, embeds, np.arange(10_000), chunk_size=1024)
    assert (stats.higher == 0).all() and stats.num_tied == 0
    table = M.rank_table(stats, "expected")
    assert table.evaluate() == {"R@1": 100.0, "R@5": 100.0, "R@10": 100.0, "MedR": 1.0, "MnR": 1.0}


def test_retrieval_recall_matches_torchmetrics_without_ties():
    from torchmetrics.retrieval import RetrievalRecall

    generator = torch.Generator().manual_seed(1)
    similarity = torch.randn(30, 30, generator=generator)  # continuous scores: no ties, so every rule agrees
    indexes = torch.arange(30).repeat_interleave(30)
    target = torch.eye(30, dtype=torch.bool).flatten()
    for ties in M.TIE_RULES:
        ours = retrieval_metrics_from_similarity(similarity, ties=ties)
        for k in (1, 5, 10):
            reference = RetrievalRecall(top_k=k)(similarity.flatten(), target, indexes=indexes)
            assert ours[f"R@{k}"] == pytest.approx(float(reference) * 100, abs=1e-4)


# ----------------------------------------------------------------------------------------------------------- classification
def test_topk_and_mean_per_class_hand_computed():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
    labels = [0, 0, 0, 1]  # correct: yes, no, no, yes
    metrics = classification_metrics(scores, labels, ks=(1, 2))
    assert metrics["top1"] == 50.0
    assert metrics["top2"] == 100.0
    assert metrics["mean_per_class"] == pytest.approx((100 / 3 + 100) / 2)


def test_classification_ties_follow_the_tie_rule():
    scores = [[0.5, 0.5, 0.1], [0.2, 0.2, 0.2]]
    assert classification_metrics(scores, [1, 2], ks=(1, 2))["top1"] == pytest.approx(100 * (1 / 2 + 1 / 3) / 2)
    assert classification_metrics(scores, [1, 2], ks=(1, 2))["top2"] == pytest.approx(100 * (1 + 2 / 3) / 2)
    assert classification_metrics(scores, [1, 2], ks=(1,), ties="optimistic")["top1"] == 100.0
    assert classification_metrics(scores, [1, 2], ks=(1,), ties="pessimistic")["top1"] == 0.0


def test_action_recognition_official_rule_is_torch_topk():
    # X-CLIP / ViFi-CLIP count a hit iff `label in similarity.topk(k).indices`; torch picks among tied scores.
    scores = torch.tensor([[0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3], [0.1, 0.9, 0.9, 0.2, 0.2, 0.2, 0.0],
                           [0.5, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4]])
    labels = [4, 2, 6]
    hits = {k: [labels[i] in scores[i].topk(k).indices.tolist() for i in range(3)] for k in (1, 5)}
    official = classification_metrics(scores, labels, ks=(1, 5), ties="official")
    assert official["top1"] == pytest.approx(100 * np.mean(hits[1]))
    assert official["top5"] == pytest.approx(100 * np.mean(hits[5]))


def test_classification_matches_torchmetrics_without_ties():
    from torchmetrics.classification import MulticlassAccuracy

    generator = torch.Generator().manual_seed(2)
    scores = torch.randn(200, 10, generator=generator)
    labels = torch.arange(200) % 10
    ours = classification_metrics(scores, labels, ks=(1, 5))
    for k in (1, 5):
        reference = MulticlassAccuracy(num_classes=10, top_k=k, average="micro")(scores, labels)
        assert ours[f"top{k}"] == pytest.approx(float(reference) * 100, abs=1e-4)
    macro = MulticlassAccuracy(num_classes=10, top_k=1, average="macro")(scores, labels)
    assert ours["mean_per_class"] == pytest.approx(float(macro) * 100, abs=1e-4)


def test_classification_table_averages_splits_and_reports_their_spread():
    splits = {"split1": (np.eye(3), [0, 1, 2]), "split2": (np.eye(3), [0, 0, 0])}  # 100 % and 33.3 % top-1
    values = M.classification_table(splits, ks=(1,)).evaluate()
    assert values["split1/top1"] == 100.0 and values["split2/top1"] == pytest.approx(100 / 3)
    assert values["top1"] == pytest.approx((100 + 100 / 3) / 2)
    assert values["top1_std"] == pytest.approx(np.std([100, 100 / 3]))
    assert values["split2/mean_per_class"] == pytest.approx(100 / 3)  # one class present, 1 of 3 right


# ----------------------------------------------------------------------------------------------------------- SugarCrepe
def test_sugarcrepe_tie_rules_and_official_strict_preference():
    positive, negative = [0.5, 0.4, 0.3], [0.4, 0.4, 0.5]  # right, tie, wrong
    assert M.preference_correct(positive, negative).tolist() == [1.0, 0.5, 0.0]
    assert M.preference_correct(positive, negative, "official").tolist() == [1.0, 0.0, 0.0]  # main_eval.py: '>'
    assert M.preference_correct(positive, negative, "optimistic").tolist() == [1.0, 1.0, 0.0]
    with pytest.raises(ValueError):
        M.preference_correct([0.5], [0.4, 0.3])


def test_sugarcrepe_categories_are_micro_averages():
    metrics = M.sugarcrepe_metrics([1, 0, 1, 1], ["add_att", "add_obj", "add_att", "swap_obj"])
    assert metrics == pytest.approx(
        {"add_att": 100.0, "add_obj": 0.0, "swap_obj": 100.0, "add": 200 / 3, "swap": 100.0}
    )
    assert "replace" not in metrics  # no replace subset present -> no replace average


# ----------------------------------------------------------------------------------------------------------- ARO
def test_aro_vg_relation_official_ties_are_wrong_and_expected_ties_are_half():
    scores = [[0.2, 0.3], [0.5, 0.5], [0.6, 0.1], [0.1, 0.9], [0.4, 0.4]]  # T, tie, F, T, tie
    relations = ["on", "on", "in", "near", "in"]
    official = M.aro_vg_relation_metrics(scores, relations, excluded_relations=["near"], ties="official")
    assert official["per_relation"] == {"in": 0.0, "near": 100.0, "on": 50.0}  # argmax([x, x]) = 0: wrong
    assert official["macro_accuracy"] == 25.0 and official["accuracy"] == 40.0
    assert official["num_relations_in_macro"] == 2 and official["num_items_in_macro"] == 4
    expected = M.aro_vg_relation_metrics(scores, relations, excluded_relations=["near"])
    assert expected["per_relation"] == {"in": 25.0, "near": 100.0, "on": 75.0}
    assert expected["macro_accuracy"] == 50.0 and expected["accuracy"] == 60.0


def test_aro_vg_attribution_keeps_pairs_with_at_least_25_items():
    scores = [[0.1, 0.9]] * 25 + [[0.9, 0.1]] * 24
    pairs = ["red_small"] * 25 + ["blue_big"] * 24
    metrics = M.aro_vg_attribution_metrics(scores, pairs)
    assert metrics["macro_accuracy"] == 100.0  # blue_big has 24 < 25 items
    assert metrics["accuracy"] == pytest.approx(25 / 49 * 100)
    assert metrics["num_pairs_in_macro"] == 1
    with pytest.raises(ValueError, match="No group"):
        M.aro_vg_attribution_metrics(scores[:10], pairs[:10])


def test_aro_order_official_tie_with_the_original_is_correct():
    scores = [[0.5, 0.5, 0.1, 0.1, 0.1], [0.4, 0.5, 0.1, 0.1, 0.1], [0.9, 0.1, 0.2, 0.3, 0.4], [0.2] * 5]
    # argmax takes the first maximum: items 0 and 3 (ties with the original) are right.
    assert M.aro_order_metrics(scores, ties="official")["accuracy"] == 75.0
    # Expected: item 0 wins a 2-way tie (1/2), item 3 a 5-way tie (1/5).
    assert M.aro_order_metrics(scores)["accuracy"] == pytest.approx(100 * (0.5 + 0 + 1 + 0.2) / 4)


def test_empty_inputs_are_errors_not_zero():
    with pytest.raises(ValueError, match="zero items"):
        M.percent([])
    with pytest.raises(ValueError):
        M.sugarcrepe_metrics([], [])


# ----------------------------------------------------------------------------------------------------------- VidSitu
def test_vidsitu_verb_metrics_hand_computed():
    predictions = [[["a", "b", "c", "d", "e"], ["x", "c", "d", "e", "f"]]]
    ground_truth = [
        [["b", "b", "x", "x", "x", "y", "z", "z", "a", "q"], ["y", "y", "y", "c", "w", "w", "w", "w", "w", "w"]]
    ]
    metrics = M.vidsitu_verb_metrics(predictions, ground_truth)
    assert metrics["Acc@1"] == 50.0  # event 1: 'a' was chosen by one annotator; event 2: 'x' by none
    assert metrics["Acc@2"] == 100.0 and metrics["Acc@5"] == 100.0
    assert metrics["Per_Vid_Top_1"] == 0.0 and metrics["Per_Vid_Top_5"] == 100.0
    # Rec@5: every verb class has one instance (<= 9), so none enters the official average (get_avg([]) = 0).
    assert metrics["Rec@5"] == 0.0 and metrics["num_verb_classes_rec@5"] == 0
    # With threshold 0: classes b (hit), x, z, y, w (misses) -> 1/5.
    assert M.vidsitu_verb_metrics(predictions, ground_truth, recall_threshold=0)["Rec@5"] == pytest.approx(20.0)


def test_vidsitu_uses_first_five_predictions_and_first_ten_annotations():
    predictions = [[["p1", "p2", "p3", "p4", "p5", "gold"]]]
    assert M.vidsitu_verb_metrics(predictions, [[["gold"] * 10]])["Acc@5"] == 0.0
    assert M.vidsitu_verb_metrics([[["gold"]]], [[["other"] * 10 + ["gold"]]])["Acc@1"] == 0.0


def test_vidsitu_rec5_macro_over_classes_with_more_than_nine_instances():
    predictions, ground_truth = [], []
    for i in range(10):  # 'run' (2 votes) hit in 7 of 10 events; 'jump' (2 votes) in 9 events only: dropped
        predictions.append([["run" if i < 7 else "walk", "x", "y", "z", "w"]])
        ground_truth.append([["run", "run"] + (["jump", "jump"] if i < 9 else []) + [f"other{j}" for j in range(6)]])
    metrics = M.vidsitu_verb_metrics(predictions, ground_truth)
    assert metrics["Rec@5"] == pytest.approx(70.0)
    assert metrics["num_verb_classes_rec@5"] == 1


VERBS = ["run.01", "run.02", "walk.01", "jump.01", "sit.01", "talk.01", "eat.01"]


def test_vidsitu_official_rule_on_tied_scores_keeps_vocabulary_order():
    # Two senses of 'run' share a prompt, so they tie; the official lists put run.01 (earlier in the vocabulary,
    # i.e. more frequent in train) first.
    scores = np.array([[0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.0]])
    ground_truth = [[["run.02"] * 3 + ["walk.01"] * 7]]
    official = M.vidsitu_verb_metrics_from_scores(scores, VERBS, ground_truth, ties="official")
    assert official["Acc@1"] == 0.0 and official["Acc@2"] == 100.0
    # Rec@5 instances: run.02 (3 votes, 2nd) and walk.01 (7 votes): the top 5 lists run.01, run.02, then the first
    # three of the four tied at 0.1 (walk.01, jump.01, sit.01), so both are hits.
    assert M.vidsitu_verb_metrics_from_scores(scores, VERBS, ground_truth, "official", recall_threshold=0)[
        "Rec@5"] == 100.0


def test_vidsitu_expected_rule_on_tied_scores_hand_computed():
    scores = np.array([[0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.0]])
    ground_truth = [[["run.02"] * 3 + ["walk.01"] * 7]]
    metrics = M.vidsitu_verb_metrics_from_scores(scores, VERBS, ground_truth, recall_threshold=0)
    assert metrics["Acc@1"] == pytest.approx(50.0)  # run.02 ties run.01 for the first place
    assert metrics["Acc@2"] == 100.0
    # Rec@5: run.02 is in the top 5 for sure; walk.01 ties 3 others for 3 places (5 - 2 above): 3/4.
    assert metrics["Rec@5"] == pytest.approx(100 * (1 + 3 / 4) / 2)
    assert metrics["Per_Vid_Top_1"] == pytest.approx(50.0)  # one event: the chance it is right


def test_vidsitu_verbs_outside_the_vocabulary_are_never_hits():
    metrics = M.vidsitu_verb_metrics_from_scores(np.zeros((1, 3)), VERBS[:3], [[["unknown.01"] * 10]],
                                                 recall_threshold=0)
    assert metrics["Acc@5"] == 0.0 and metrics["Rec@5"] == 0.0


def test_topk_labels_are_stable_on_ties():
    labels, scores = M.topk_labels([[0.1, 0.5, 0.5, 0.2]], ["a", "b", "c", "d"], k=3)
    assert labels == [["b", "c", "d"]] and scores == [[0.5, 0.5, 0.2]]
