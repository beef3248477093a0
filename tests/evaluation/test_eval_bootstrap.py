"""Bootstrap confidence intervals: aggregates equal their plain definitions, strata keep macro-averages' groups,
paired intervals, seeds, serialisation, and coverage on a known distribution."""

import numpy as np
import pytest

from modeling_figclip.evaluation.bootstrap import (
    GroupMean,
    ItemTable,
    Mean,
    MeanOf,
    Median,
    PooledMedian,
    Ratio,
    StdOf,
    _Sample,
    bootstrap_samples,
    confidence_intervals,
    difference_intervals,
    mean_intervals,
    percentile_interval,
)


def _table(correct, name="items", **kwargs):
    return ItemTable(name, {"correct": correct}, {"accuracy": Mean("correct")}, **kwargs)


def test_aggregates_equal_their_plain_definitions():
    rng = np.random.default_rng(0)
    values, weights = rng.random(40), rng.integers(1, 4, 40).astype(float)
    groups = np.repeat(["a", "b", "c", "d"], 10)
    table = ItemTable(
        "items",
        {"v": values, "w": weights},
        {
            "mean": Mean("v"),
            "mean_of_b": Mean("v", where=("g", ("b",))),
            "ratio": Ratio("v", "w", scale=1.0, offset=1.0),
            "median": Median("v"),
            "lower_median": Median("v", lower=True),
            "macro": GroupMean("v", "g", keep=("a", "c")),
            "mean_of": MeanOf((Mean("v", where=("g", ("a",))), Mean("v", where=("g", ("b",))))),
            "std_of": StdOf((Mean("v", where=("g", ("a",))), Mean("v", where=("g", ("b",))))),
        },
        groups={"g": groups},
        strata="g",
    )
    values_of = {g: values[groups == g] for g in "abcd"}
    assert table.evaluate() == pytest.approx({
        "mean": 100 * values.mean(),
        "mean_of_b": 100 * values_of["b"].mean(),
        "ratio": values.sum() / weights.sum() + 1.0,
        "median": np.median(values),
        "lower_median": np.sort(values)[19],  # torch.median: the lower of the two middle values
        "macro": 100 * (values_of["a"].mean() + values_of["c"].mean()) / 2,
        "mean_of": 100 * (values_of["a"].mean() + values_of["b"].mean()) / 2,
        "std_of": 100 * np.std([values_of["a"].mean(), values_of["b"].mean()]),
    })


def test_pooled_median_equals_the_median_of_the_expanded_positions():
    rng = np.random.default_rng(1)
    for size in (1, 2, 7, 30):
        low, count = rng.integers(0, 20, (5, size)), rng.integers(1, 5, (5, size))
        sample = _Sample({"low": low.astype(float), "count": count.astype(float)}, {})
        ours = PooledMedian("low", "count", offset=1.0).evaluate(sample)
        for row in range(5):
            expanded = np.concatenate([np.arange(a, a + c) for a, c in zip(low[row], count[row])])
            assert ours[row] == np.median(expanded) + 1.0


def test_intervals_contain_the_estimate_and_shrink_with_more_items():
    rng = np.random.default_rng(2)
    small = _table(rng.random(50) < 0.6)
    large = _table(rng.random(5000) < 0.6)
    small_low, small_high = confidence_intervals([small])["accuracy"]
    large_low, large_high = confidence_intervals([large])["accuracy"]
    assert small_low <= small.evaluate()["accuracy"] <= small_high
    assert large_low <= large.evaluate()["accuracy"] <= large_high
    assert (large_high - large_low) < (small_high - small_low) / 5  # ~ 1/sqrt(n): 10x more items, ~10x narrower


def test_constant_items_give_a_zero_width_interval():
    assert confidence_intervals([_table(np.ones(30))])["accuracy"] == [100.0, 100.0]


def test_strata_keep_every_group_and_its_size():
    # Group a: always right, group b: always wrong. Resampled within groups, the macro average cannot move; resampled
    # across groups, it could (a resample may miss a group entirely or change the micro average).
    correct = np.array([1.0] * 5 + [0.0] * 45)
    groups = {"g": np.array(["a"] * 5 + ["b"] * 45)}
    metrics = {"macro": GroupMean("correct", "g"), "micro": Mean("correct")}
    stratified = ItemTable("items", {"correct": correct}, metrics, groups, strata="g")
    assert confidence_intervals([stratified]) == {"macro": [50.0, 50.0], "micro": [10.0, 10.0]}
    pooled = ItemTable("items", {"correct": correct}, {"micro": Mean("correct")})
    low, high = confidence_intervals([pooled])["micro"]
    assert low < 10.0 < high


def test_groups_must_be_constant_within_strata():
    with pytest.raises(ValueError, match="varies within a stratum"):
        ItemTable("items", {"v": [1, 0, 1, 0]}, {"macro": GroupMean("v", "class")},
                  {"class": np.array(["x", "y", "x", "y"]), "split": np.array(["s", "s", "t", "t"])}, strata="split")
    with pytest.raises(ValueError, match="unknown column"):
        ItemTable("items", {"v": [1.0]}, {"m": Mean("w")})


def test_resamples_are_seeded_and_paired_across_models():
    rng = np.random.default_rng(3)
    first, second = _table(rng.random(200) < 0.5), _table(rng.random(200) < 0.5)
    assert np.array_equal(bootstrap_samples(first, 200, seed=0)["accuracy"],
                          bootstrap_samples(first, 200, seed=0)["accuracy"])
    assert not np.array_equal(bootstrap_samples(first, 200, seed=0)["accuracy"],
                              bootstrap_samples(first, 200, seed=1)["accuracy"])
    # Same seed, same table name and size: the same items are drawn for both models.
    identical = difference_intervals([[first]], [[first]])
    assert identical == {"accuracy": [0.0, 0.0]}
    low, high = difference_intervals([[second]], [[first]])["accuracy"]
    assert low <= second.evaluate()["accuracy"] - first.evaluate()["accuracy"] <= high


def test_paired_interval_is_narrower_than_the_unpaired_one_when_models_agree():
    rng = np.random.default_rng(4)
    base = rng.random(400) < 0.5
    better = base.copy()
    better[np.flatnonzero(~base)[:20]] = True  # right on 20 more items (+5 points), wrong on none the base got
    paired_low, paired_high = difference_intervals([[_table(better)]], [[_table(base)]])["accuracy"]
    assert paired_low > 0.0  # every resample sees a gain
    base_low, base_high = confidence_intervals([_table(base)])["accuracy"]
    assert paired_high - paired_low < (base_high - base_low) / 2


def test_difference_averages_several_runs_and_rejects_other_items():
    base = _table(np.zeros(100), items_digest="items v1")
    runs = [[_table(np.r_[np.ones(k), np.zeros(100 - k)], items_digest="items v1")] for k in (10, 20, 30)]
    low, high = difference_intervals(runs, [[base]])["accuracy"]
    assert low <= 20.0 <= high  # the mean over the three runs of (run - base)
    mean_low, mean_high = mean_intervals(runs)["accuracy"]
    assert mean_low <= 20.0 <= mean_high and (mean_low, mean_high) == (low, high)  # the base is constant here
    with pytest.raises(ValueError, match="different items"):
        difference_intervals([[_table(np.zeros(100), items_digest="items v2")]], [[base]])
    with pytest.raises(ValueError, match="cannot pair"):
        difference_intervals([[_table(np.zeros(99), items_digest="items v1")]], [[base]])


def test_tables_round_trip_through_json():
    import json

    table = ItemTable(
        "items",
        {"correct": [1.0, 0.0, 1.0, 1.0]},
        {"macro": GroupMean("correct", "g", keep=("a",)), "both": MeanOf((Mean("correct"), Median("correct")))},
        {"g": np.array(["a", "a", "b", "b"])},
        strata="g",
        items_digest="abc",
    )
    again = ItemTable.from_dict(json.loads(json.dumps(table.to_dict())))
    assert again.evaluate() == table.evaluate() and again.metrics == table.metrics
    assert confidence_intervals([again]) == confidence_intervals([table])


def test_select_keeps_one_metric_under_a_new_name():
    table = ItemTable("items", {"a": [1.0, 0.0], "b": [0.0, 0.0]}, {"x": Mean("a"), "y": Mean("b")})
    selected = table.select({"role_swap": "x"})
    assert selected.evaluate() == {"role_swap": 50.0} and set(selected.columns) == {"a"}


def test_percentile_interval_coverage_on_a_known_distribution():
    """About 95 % of the intervals from independent samples contain the true accuracy (60 %)."""
    rng = np.random.default_rng(5)
    covered = 0
    for trial in range(200):
        table = _table(rng.random(300) < 0.6)
        low, high = confidence_intervals([table], num_resamples=1000, seed=trial)["accuracy"]
        covered += low <= 60.0 <= high
    assert 0.9 <= covered / 200 <= 0.99


def test_percentile_interval_checks_the_level():
    assert percentile_interval(np.arange(101.0), 0.9) == pytest.approx([5.0, 95.0])
    with pytest.raises(ValueError):
        percentile_interval(np.arange(3.0), 1.0)
