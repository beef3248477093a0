"""Metric functions against hand-computed values, ties and edge cases, and once against torchmetrics."""

import numpy as np
import pytest
import torch

from modeling_figclip import metrics as M

# ----------------------------------------------------------------------------------------------------------- ranks
SCORES = [[0.9, 0.5, 0.1], [0.2, 0.2, 0.7], [0.3, 0.3, 0.3]]


def test_ranks_optimistic_and_pessimistic_ties():
    optimistic = M.ranks_of_positives(SCORES, [0, 1, 2], ties="optimistic")
    pessimistic = M.ranks_of_positives(SCORES, [0, 1, 2], ties="pessimistic")
    assert optimistic.ranks.tolist() == [1, 2, 1]
    assert pessimistic.ranks.tolist() == [1, 3, 3]
    assert optimistic.num_tied == pessimistic.num_tied == 2


def test_ranks_with_several_positives_use_the_best_positive():
    result = M.ranks_of_positives([[0.1, 0.8, 0.5, 0.9]], [[1, 2]])
    assert result.ranks.tolist() == [2]  # only the negative 0.9 beats the best positive 0.8
    # A tie between two positives is not a tie with a negative.
    assert M.ranks_of_positives([[0.8, 0.8, 0.1]], [[0, 1]], ties="pessimistic").ranks.tolist() == [1]


def test_ranks_reject_bad_input():
    with pytest.raises(ValueError, match="ties"):
        M.ranks_of_positives(SCORES, [0, 1, 2], ties="random")
    with pytest.raises(ValueError, match="outside"):
        M.ranks_of_positives(SCORES, [0, 1, 3])
    with pytest.raises(ValueError, match="positives for"):
        M.ranks_of_positives(SCORES, [0, 1])
    with pytest.raises(ValueError, match="no positive"):
        M.ranks_of_positives([[0.1, 0.2]], [[]])


def test_rank_metrics_hand_computed():
    metrics = M.rank_metrics([1, 2, 3, 10, 11])
    assert metrics == pytest.approx({"R@1": 20.0, "R@5": 60.0, "R@10": 80.0, "MedR": 3.0, "MnR": 5.4})
    assert M.rank_metrics([1, 2, 3, 4])["MedR"] == 2.5  # even count: mean of the two middle ranks (np.median)
    with pytest.raises(ValueError, match="zero"):
        M.rank_metrics([])
    with pytest.raises(ValueError, match="1-based"):
        M.rank_metrics([0, 1])


def test_similarity_metrics_of_identity_and_constant_matrices():
    assert M.retrieval_metrics_from_similarity(np.eye(4))["R@1"] == 100.0
    constant = np.ones((4, 4))
    # A constant model ties everything: optimistic says R@1 = 100, pessimistic says rank N; num_tied exposes it.
    assert M.retrieval_metrics_from_similarity(constant)["R@1"] == 100.0
    pessimistic = M.retrieval_metrics_from_similarity(constant, ties="pessimistic")
    assert pessimistic["R@1"] == 0.0 and pessimistic["MedR"] == 4.0 and pessimistic["num_tied"] == 4
    with pytest.raises(ValueError, match="square"):
        M.retrieval_metrics_from_similarity(np.ones((2, 3)))


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 1000])
def test_chunked_retrieval_ranks_equal_the_full_matrix(chunk_size):
    generator = torch.Generator().manual_seed(0)
    queries = torch.nn.functional.normalize(torch.randn(20, 8, generator=generator), dim=-1)
    candidates = torch.nn.functional.normalize(torch.randn(15, 8, generator=generator), dim=-1)
    positives = torch.randint(0, 15, (20,), generator=generator)
    full = M.ranks_of_positives(queries @ candidates.T, positives)
    chunked = M.retrieval_ranks(queries, candidates, positives, chunk_size=chunk_size)
    assert chunked.ranks.tolist() == full.ranks.tolist()


def test_ten_thousand_squared_retrieval_in_bounded_memory():
    """10k x 10k: blocks of 1024 rows (40 MB each) instead of a 400 MB matrix; the diagonal is the ground truth."""
    generator = torch.Generator().manual_seed(3)
    embeds = torch.nn.functional.normalize(torch.randn(10_000, 16, generator=generator), dim=-1)
    result = M.retrieval_ranks(embeds, embeds, np.arange(10_000), chunk_size=1024)
    assert result.ranks.shape == (10_000,) and (result.ranks == 1).all()
    assert M.rank_metrics(result.ranks) == {"R@1": 100.0, "R@5": 100.0, "R@10": 100.0, "MedR": 1.0, "MnR": 1.0}


def test_chunked_retrieval_with_positive_lists():
    queries = torch.eye(3)
    candidates = torch.tensor([[1.0, 0, 0], [0.9, 0.1, 0], [0, 1.0, 0], [0, 0, 1.0]])
    result = M.retrieval_ranks(queries, candidates, [[1], [2, 3], [3]], chunk_size=2)
    assert result.ranks.tolist() == [2, 1, 1]


def test_retrieval_recall_matches_torchmetrics():
    from torchmetrics.retrieval import RetrievalRecall

    generator = torch.Generator().manual_seed(1)
    similarity = torch.randn(30, 30, generator=generator)  # continuous scores: no ties
    ours = M.retrieval_metrics_from_similarity(similarity)
    indexes = torch.arange(30).repeat_interleave(30)
    target = torch.eye(30, dtype=torch.bool).flatten()
    for k in (1, 5, 10):
        reference = RetrievalRecall(top_k=k)(similarity.flatten(), target, indexes=indexes)
        assert ours[f"R@{k}"] == pytest.approx(float(reference) * 100, abs=1e-4)


# ----------------------------------------------------------------------------------------------------------- classification
def test_topk_and_mean_per_class_hand_computed():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
    labels = [0, 0, 0, 1]  # correct: yes, no, no, yes
    metrics = M.classification_metrics(scores, labels, ks=(1, 2))
    assert metrics["top1"] == 50.0
    assert metrics["top2"] == 100.0
    assert metrics["mean_per_class"] == pytest.approx((100 / 3 + 100) / 2)


def test_topk_ties_follow_the_tie_rule():
    scores = [[0.5, 0.5, 0.1]]
    assert M.topk_accuracy(scores, [1], ks=(1,))["top1"] == 100.0
    assert M.topk_accuracy(scores, [1], ks=(1,), ties="pessimistic")["top1"] == 0.0


def test_classification_matches_torchmetrics():
    from torchmetrics.classification import MulticlassAccuracy

    generator = torch.Generator().manual_seed(2)
    scores = torch.randn(200, 10, generator=generator)
    labels = torch.arange(200) % 10
    ours = M.classification_metrics(scores, labels, ks=(1, 5))
    for k in (1, 5):
        reference = MulticlassAccuracy(num_classes=10, top_k=k, average="micro")(scores, labels)
        assert ours[f"top{k}"] == pytest.approx(float(reference) * 100, abs=1e-4)
    macro = MulticlassAccuracy(num_classes=10, top_k=1, average="macro")(scores, labels)
    assert ours["mean_per_class"] == pytest.approx(float(macro) * 100, abs=1e-4)


# ----------------------------------------------------------------------------------------------------------- SugarCrepe
def test_strict_preference_counts_a_tie_as_wrong():
    assert M.strict_preference_correct([0.5, 0.4, 0.3], [0.4, 0.4, 0.5]).tolist() == [True, False, False]
    with pytest.raises(ValueError):
        M.strict_preference_correct([0.5], [0.4, 0.3])


def test_sugarcrepe_categories_are_micro_averages():
    metrics = M.sugarcrepe_metrics([1, 0, 1, 1], ["add_att", "add_obj", "add_att", "swap_obj"])
    assert metrics == pytest.approx(
        {"add_att": 100.0, "add_obj": 0.0, "swap_obj": 100.0, "add": 200 / 3, "swap": 100.0}
    )
    assert "replace" not in metrics  # no replace subset present -> no replace average


# ----------------------------------------------------------------------------------------------------------- ARO
def test_aro_vg_relation_macro_excludes_the_listed_relations_and_ties_are_wrong():
    scores = [[0.2, 0.3], [0.5, 0.5], [0.6, 0.1], [0.1, 0.9], [0.4, 0.4]]  # T, tie, F, T, tie
    metrics = M.aro_vg_relation_metrics(scores, ["on", "on", "in", "near", "in"], excluded_relations=["near"])
    assert metrics["per_relation"] == {"in": 0.0, "near": 100.0, "on": 50.0}
    assert metrics["macro_accuracy"] == 25.0
    assert metrics["accuracy"] == 40.0
    assert metrics["num_relations_in_macro"] == 2 and metrics["num_items_in_macro"] == 4


def test_aro_vg_attribution_keeps_pairs_with_at_least_25_items():
    scores = [[0.1, 0.9]] * 25 + [[0.9, 0.1]] * 24
    pairs = ["red_small"] * 25 + ["blue_big"] * 24
    metrics = M.aro_vg_attribution_metrics(scores, pairs)
    assert metrics["macro_accuracy"] == 100.0  # blue_big has 24 < 25 items
    assert metrics["accuracy"] == pytest.approx(25 / 49 * 100)
    assert metrics["num_pairs_in_macro"] == 1
    with pytest.raises(ValueError, match="No group"):
        M.aro_vg_attribution_metrics(scores[:10], pairs[:10])


def test_aro_order_tie_with_the_original_is_correct():
    scores = [[0.5, 0.5, 0.1, 0.1, 0.1], [0.4, 0.5, 0.1, 0.1, 0.1], [0.9, 0.1, 0.2, 0.3, 0.4]]
    assert M.aro_order_metrics(scores)["accuracy"] == pytest.approx(200 / 3)


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


def test_topk_labels_are_stable_on_ties():
    labels, scores = M.topk_labels([[0.1, 0.5, 0.5, 0.2]], ["a", "b", "c", "d"], k=3)
    assert labels == [["b", "c", "d"]] and scores == [[0.5, 0.5, 0.2]]
