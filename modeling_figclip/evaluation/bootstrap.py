"""Per-item tables and bootstrap confidence intervals for every metric of an evaluation.

Every evaluator describes its metrics as aggregates of per-item values (an `ItemTable`): the hit of each query at
each K, each item's correctness, each query's rank. The point estimate and the bootstrap both evaluate those same
aggregates, so a metric and its interval cannot drift apart, and the bootstrap never recomputes a similarity: it
resamples rows of the table.

Resampling (percentile bootstrap): each resample draws the items with replacement, *within* the table's strata
(SugarCrepe subset, ARO relation or attribute pair, action class within its split, VidSitu verb class), so every
stratum keeps its size and a macro-average keeps its classes. The interval is the central `level` range of the
resampled metric values.

Pairing: the resample indices depend only on the seed, the table's name, its number of items and its strata, so two
models scored on the same items get the same resamples. Their difference per resample gives the paired interval of
the difference (`difference_intervals`), which is much narrower than comparing two separate intervals when the
models agree on most items.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

DEFAULT_RESAMPLES = 1000
DEFAULT_LEVEL = 0.95
# Resamples are processed in chunks of at most this many (resample, item) cells, which bounds memory to a few
# tens of MB whatever the benchmark size (ARO VG-Relation: 24k items).
_CHUNK_CELLS = 2_000_000


# ----------------------------------------------------------------------------------------------------------- aggregates
@dataclass(frozen=True)
class Aggregate:
    """How one metric is computed from the per-item columns of an `ItemTable` (base class).

    `where = (group, values)` restricts the aggregate to the items whose label in `ItemTable.groups[group]` is one of
    `values` (a SugarCrepe subset, an action-recognition split). Subclasses implement `evaluate`.
    """

    kind: ClassVar[str] = ""

    def columns(self) -> set[str]:
        """Names of the numeric columns this aggregate reads."""
        return {getattr(self, f.name) for f in fields(self) if f.name in _COLUMN_FIELDS and getattr(self, f.name)}

    def group_names(self) -> set[str]:
        where = getattr(self, "where", None)
        return {where[0]} if where else set()

    def evaluate(self, sample: _Sample) -> np.ndarray:
        """`(resamples,)` values of the metric on a block of resamples."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        values = {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}
        return {"kind": self.kind, **values}


_COLUMN_FIELDS = {"column", "numerator", "denominator", "low", "count"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Aggregate):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Mean(Aggregate):
    """`scale` × the mean of `column` over the selected items (accuracies, R@K under the per-query tie rules)."""

    kind: ClassVar[str] = "mean"
    column: str = ""
    scale: float = 100.0
    where: tuple | None = None

    def evaluate(self, sample: _Sample) -> np.ndarray:
        return sample.values(self.column, self.where).mean(axis=1) * self.scale


@dataclass(frozen=True)
class Ratio(Aggregate):
    """`scale` × Σ numerator / Σ denominator + `offset` (CLIP4Clip's pooled R@K and mean rank with ties)."""

    kind: ClassVar[str] = "ratio"
    numerator: str = ""
    denominator: str = ""
    scale: float = 100.0
    offset: float = 0.0
    where: tuple | None = None

    def evaluate(self, sample: _Sample) -> np.ndarray:
        numerator = sample.values(self.numerator, self.where).sum(axis=1)
        return numerator / sample.values(self.denominator, self.where).sum(axis=1) * self.scale + self.offset


@dataclass(frozen=True)
class Median(Aggregate):
    """Median of `column` (`np.median`: the mean of the two middle values; `lower=True`: `torch.median`'s lower one)."""

    kind: ClassVar[str] = "median"
    column: str = ""
    lower: bool = False
    where: tuple | None = None

    def evaluate(self, sample: _Sample) -> np.ndarray:
        values = sample.values(self.column, self.where)
        if self.lower:
            middle = (values.shape[1] - 1) // 2
            return np.partition(values, middle, axis=1)[:, middle]
        return np.median(values, axis=1)


@dataclass(frozen=True)
class PooledMedian(Aggregate):
    """`np.median` of the pooled integers `low, low+1, ..., low+count-1` of every item, plus `offset`.

    CLIP4Clip's `compute_metrics` appends one entry per sorted position that equals the positive's score, so a query
    whose positive ties with t negatives contributes the t+1 positions it could occupy; this is the median over all
    those entries. Evaluated through a histogram over the integer positions, not by materialising the entries.
    """

    kind: ClassVar[str] = "pooled_median"
    low: str = ""
    count: str = ""
    offset: float = 1.0
    where: tuple | None = None

    def evaluate(self, sample: _Sample) -> np.ndarray:
        low = sample.values(self.low, self.where).astype(np.int64)
        count = sample.values(self.count, self.where).astype(np.int64)
        rows, width = low.shape[0], int((low + count).max()) + 1
        row_start = np.arange(rows)[:, None] * width
        # Difference array: +1 where an item's entries start, -1 where they end; cumulative sums then give the
        # number of entries at each position and below it.
        steps = np.bincount((row_start + low).ravel(), minlength=rows * width) - np.bincount(
            (row_start + low + count).ravel(), minlength=rows * width
        )
        cumulative = np.cumsum(np.cumsum(steps.reshape(rows, width), axis=1), axis=1)
        total = cumulative[:, -1]
        # np.median: the mean of the entries at 0-based positions (total - 1) // 2 and total // 2.
        lower_rank = np.argmax(cumulative > ((total - 1) // 2)[:, None], axis=1)
        upper_rank = np.argmax(cumulative > (total // 2)[:, None], axis=1)
        return (lower_rank + upper_rank) / 2.0 + self.offset


@dataclass(frozen=True)
class GroupMean(Aggregate):
    """Macro average: `scale` × the unweighted mean over groups of each group's mean of `column`.

    `group` names a label array of `ItemTable.groups`; `keep` lists the groups that enter the average (all groups
    present when None; an empty tuple gives `empty_value`, as VidSitu's `get_avg([])` returns 0).
    """

    kind: ClassVar[str] = "group_mean"
    column: str = ""
    group: str = ""
    keep: tuple | None = None
    scale: float = 100.0
    empty_value: float = 0.0
    where: tuple | None = None

    def group_names(self) -> set[str]:
        return super().group_names() | {self.group}

    def evaluate(self, sample: _Sample) -> np.ndarray:
        values = sample.values(self.column, self.where)
        labels = sample.labels(self.group, self.where)
        kept = [g for g in dict.fromkeys(labels.tolist()) if self.keep is None or g in set(self.keep)]
        if not kept:
            return np.full(values.shape[0], self.empty_value)
        membership = (labels[:, None] == np.asarray(kept, dtype=labels.dtype)[None, :]).astype(np.float64)
        group_means = (values @ membership) / membership.sum(axis=0)
        return group_means.mean(axis=1) * self.scale


@dataclass(frozen=True)
class MeanOf(Aggregate):
    """The mean of several aggregates (action recognition: the mean over the splits present)."""

    kind: ClassVar[str] = "mean_of"
    parts: tuple = ()

    def columns(self) -> set[str]:
        return set().union(*(part.columns() for part in self.parts))

    def group_names(self) -> set[str]:
        return set().union(*(part.group_names() for part in self.parts))

    def evaluate(self, sample: _Sample) -> np.ndarray:
        return np.mean([part.evaluate(sample) for part in self.parts], axis=0)


@dataclass(frozen=True)
class StdOf(MeanOf):
    """The (population) standard deviation of several aggregates (the spread of top-1 over splits)."""

    kind: ClassVar[str] = "std_of"

    def evaluate(self, sample: _Sample) -> np.ndarray:
        return np.std([part.evaluate(sample) for part in self.parts], axis=0)


_AGGREGATES: dict[str, type[Aggregate]] = {
    cls.kind: cls for cls in (Mean, Ratio, Median, PooledMedian, GroupMean, MeanOf, StdOf)
}


def aggregate_from_dict(data: Mapping[str, Any]) -> Aggregate:
    """Inverse of `Aggregate.to_dict`."""
    data = dict(data)
    cls = _AGGREGATES[data.pop("kind")]
    if "parts" in data:
        data["parts"] = tuple(aggregate_from_dict(part) for part in data["parts"])
    for key in ("where", "keep"):
        if data.get(key) is not None:
            data[key] = _tuple(data[key])
    return cls(**data)


def _tuple(value: Any) -> tuple:
    return tuple(_tuple(v) if isinstance(v, list) else v for v in value)


# ----------------------------------------------------------------------------------------------------------- tables
@dataclass
class ItemTable:
    """Per-item values of one evaluation and the aggregates that turn them into its metrics.

    Attributes:
        name: what an item is (`t2v_queries`, `items`, `rec5_instances`, ...); part of the resampling seed.
        columns: numeric per-item values (`(items,)` each) that the aggregates read.
        metrics: metric name -> `Aggregate`.
        groups: per-item labels used by `where` and `GroupMean` (subset, relation, split, class, ...).
        strata: the name of the label array within whose values items are resampled (None: all items together).
            Every label array that an aggregate uses must be constant within a stratum, so that each resample keeps
            the groups' sizes.
        items_digest: identifies the items (their keys), so that paired intervals only pair identical item sets.
    """

    name: str
    columns: dict[str, np.ndarray]
    metrics: dict[str, Aggregate]
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    strata: str | None = None
    items_digest: str = ""

    def __post_init__(self) -> None:
        self.columns = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in self.columns.items()}
        self.groups = {k: np.asarray(v).reshape(-1) for k, v in self.groups.items()}
        sizes = {len(v) for v in [*self.columns.values(), *self.groups.values()]}
        if len(sizes) > 1:
            raise ValueError(f"{self.name}: columns and groups have different lengths {sorted(sizes)}.")
        if self.num_items == 0:
            raise ValueError(f"{self.name}: cannot describe metrics over zero items.")
        for metric, aggregate in self.metrics.items():
            missing = (aggregate.columns() - set(self.columns)) | (aggregate.group_names() - set(self.groups))
            if missing:
                raise ValueError(f"{self.name}: metric {metric!r} reads unknown column(s) {sorted(missing)}.")
        if self.strata is not None:
            if self.strata not in self.groups:
                raise ValueError(f"{self.name}: strata {self.strata!r} is not one of the groups {sorted(self.groups)}.")
            for name in set().union(*(a.group_names() for a in self.metrics.values())):
                if not _constant_within(self.groups[name], self.groups[self.strata]):
                    raise ValueError(
                        f"{self.name}: group {name!r} varies within a stratum of {self.strata!r}; resampling within "
                        "strata would change its groups' sizes."
                    )

    @property
    def num_items(self) -> int:
        return len(next(iter([*self.columns.values(), *self.groups.values()]), ()))

    def evaluate(self) -> dict[str, float]:
        """Every metric on the items themselves (the point estimates)."""
        sample = _Sample.identity(self)
        return {name: float(aggregate.evaluate(sample)[0]) for name, aggregate in self.metrics.items()}

    def select(self, metrics: Mapping[str, str], name: str | None = None) -> ItemTable:
        """A table with only `metrics` (new name -> this table's name), e.g. one report metric of a task."""
        chosen = {new: self.metrics[old] for new, old in metrics.items()}
        used_columns = set().union(*(a.columns() for a in chosen.values()))
        used_groups = set().union(*(a.group_names() for a in chosen.values())) | ({self.strata} - {None})
        return ItemTable(
            name=name or self.name,
            columns={k: v for k, v in self.columns.items() if k in used_columns},
            metrics=chosen,
            groups={k: v for k, v in self.groups.items() if k in used_groups},
            strata=self.strata,
            items_digest=self.items_digest,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (columns as lists), read back by `ItemTable.from_dict`."""
        return {
            "name": self.name,
            "columns": {k: v.tolist() for k, v in self.columns.items()},
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "groups": {k: v.tolist() for k, v in self.groups.items()},
            "strata": self.strata,
            "items_digest": self.items_digest,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemTable:
        return cls(
            name=data["name"],
            columns=data["columns"],
            metrics={k: aggregate_from_dict(v) for k, v in data["metrics"].items()},
            groups=data.get("groups", {}),
            strata=data.get("strata"),
            items_digest=data.get("items_digest", ""),
        )


def items_digest(keys: Iterable[Any]) -> str:
    """A short digest of the item keys in order (captions, image paths, clip ids)."""
    digest = hashlib.sha256()
    for key in keys:
        digest.update(repr(key).encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _constant_within(labels: np.ndarray, strata: np.ndarray) -> bool:
    pairs = {(s, g) for s, g in zip(strata.tolist(), labels.tolist())}
    return len(pairs) == len(set(strata.tolist()))


# ----------------------------------------------------------------------------------------------------------- resampling
@dataclass
class _Sample:
    """A block of resamples: per numeric column `(resamples, items)` values, per label array the items' labels.

    Items are held in stratum order, so the labels of position j are the same in every resample.
    """

    columns: dict[str, np.ndarray]
    group_labels: dict[str, np.ndarray]

    @classmethod
    def identity(cls, table: ItemTable) -> _Sample:
        return cls({k: v[None, :] for k, v in table.columns.items()}, table.groups)

    def _positions(self, where: tuple | None) -> np.ndarray | slice:
        if where is None:
            return slice(None)
        group, allowed = where
        return np.isin(self.group_labels[group], np.asarray(list(allowed), dtype=self.group_labels[group].dtype))

    def values(self, column: str, where: tuple | None) -> np.ndarray:
        return self.columns[column][:, self._positions(where)]

    def labels(self, group: str, where: tuple | None) -> np.ndarray:
        return self.group_labels[group][self._positions(where)]


@dataclass
class _Strata:
    """Items in stratum order, and for each position the first position and size of its stratum."""

    order: np.ndarray
    first: np.ndarray
    size: np.ndarray

    @classmethod
    def of(cls, table: ItemTable) -> _Strata:
        n = table.num_items
        if table.strata is None:
            return cls(np.arange(n), np.zeros(n, dtype=np.int64), np.full(n, n, dtype=np.int64))
        _, codes = np.unique(table.groups[table.strata], return_inverse=True)
        order = np.argsort(codes, kind="stable")
        sorted_codes = codes[order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        sizes = np.diff(np.r_[starts, n])
        stratum_of_position = np.repeat(np.arange(len(starts)), sizes)
        return cls(order, starts[stratum_of_position], sizes[stratum_of_position])

    def draw(self, rng: np.random.Generator, resamples: int) -> np.ndarray:
        """`(resamples, items)` positions *in stratum order*, each drawn uniformly from its own stratum's positions."""
        # In place, in float64 (exact for integers below 2**53): first + floor(u * size), u uniform in [0, 1).
        positions = rng.random((resamples, len(self.order)))
        positions *= self.size
        positions += self.first
        positions = positions.astype(np.intp)
        # Rounding could land a hair's breadth short of u * size == size; keep every draw inside its stratum.
        return np.minimum(positions, self.first + self.size - 1, out=positions)


def _rng(seed: int, table: ItemTable) -> np.random.Generator:
    # Same seed + same table name -> same draws for every model, which is what pairs them.
    return np.random.default_rng([seed, zlib.crc32(table.name.encode("utf-8"))])


def bootstrap_samples(
    table: ItemTable, num_resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> dict[str, np.ndarray]:
    """Metric name -> `(num_resamples,)` values of the metric on resampled items (stratified, seeded)."""
    if num_resamples < 1:
        raise ValueError(f"num_resamples must be positive, got {num_resamples}.")
    strata = _Strata.of(table)
    rng = _rng(seed, table)
    # Everything in stratum order once, so each resample is a single gather per column.
    labels = {k: v[strata.order] for k, v in table.groups.items()}
    used = set().union(*(a.columns() for a in table.metrics.values()))
    columns = {k: table.columns[k][strata.order] for k in used}
    chunk = max(1, _CHUNK_CELLS // max(1, table.num_items))
    out: dict[str, list[np.ndarray]] = {name: [] for name in table.metrics}
    for start in range(0, num_resamples, chunk):
        positions = strata.draw(rng, min(chunk, num_resamples - start))
        sample = _Sample({k: v[positions] for k, v in columns.items()}, labels)
        for name, aggregate in table.metrics.items():
            out[name].append(aggregate.evaluate(sample))
    return {name: np.concatenate(parts) for name, parts in out.items()}


def percentile_interval(samples: np.ndarray, level: float = DEFAULT_LEVEL) -> list[float]:
    """`[low, high]`: the central `level` range of the bootstrap values."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}.")
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(samples, [tail, 100.0 - tail])
    return [float(low), float(high)]


def confidence_intervals(
    tables: Sequence[ItemTable], num_resamples: int = DEFAULT_RESAMPLES, seed: int = 0, level: float = DEFAULT_LEVEL
) -> dict[str, list[float]]:
    """Metric name -> `[low, high]` for every metric of every table."""
    intervals: dict[str, list[float]] = {}
    for table in tables:
        for name, samples in bootstrap_samples(table, num_resamples, seed).items():
            intervals[name] = percentile_interval(samples, level)
    return intervals


def check_paired(first: ItemTable, second: ItemTable) -> None:
    """Raise unless the two tables describe the same items the same way (same name, items, strata)."""
    if first.name != second.name or first.num_items != second.num_items:
        raise ValueError(
            f"cannot pair {first.name!r} ({first.num_items} items) with {second.name!r} ({second.num_items} items)."
        )
    if first.items_digest != second.items_digest:
        raise ValueError(f"{first.name}: the two evaluations scored different items (item digests differ).")
    if first.strata != second.strata or (
        first.strata is not None and not np.array_equal(first.groups[first.strata], second.groups[second.strata])
    ):
        raise ValueError(f"{first.name}: the two evaluations have different strata.")


def _mean_over_runs(
    runs: Sequence[Sequence[ItemTable]], num_resamples: int, seed: int
) -> dict[str, dict[str, np.ndarray]]:
    """Table name -> metric -> `(num_resamples,)` mean over the runs of the metric on each resample.

    Every run's table of one name is checked to describe the same items, so all runs see the same resamples.
    """
    if not runs:
        raise ValueError("at least one run is needed.")
    by_name = [{table.name: table for table in run} for run in runs]
    out: dict[str, dict[str, np.ndarray]] = {}
    for name in by_name[0]:
        if any(name not in run for run in by_name[1:]):
            raise ValueError(f"{name}: not every run has this table.")
        tables = [run[name] for run in by_name]
        for table in tables[1:]:
            check_paired(table, tables[0])
        samples = [bootstrap_samples(table, num_resamples, seed) for table in tables]
        out[name] = {
            metric: np.mean([s[metric] for s in samples], axis=0) for metric in samples[0] if all(metric in s for s in samples)
        }
    return out


def mean_intervals(
    runs: Sequence[Sequence[ItemTable]],
    num_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = DEFAULT_LEVEL,
) -> dict[str, list[float]]:
    """Interval of the mean over runs (e.g. FiGCLIP adaptations with different seeds) of each metric; every run
    scored the same items, which each resample draws once for all runs."""
    return {
        metric: percentile_interval(samples, level)
        for per_metric in _mean_over_runs(runs, num_resamples, seed).values()
        for metric, samples in per_metric.items()
    }


def difference_intervals(
    minuend: Sequence[Sequence[ItemTable]],
    subtrahend: Sequence[Sequence[ItemTable]],
    num_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = DEFAULT_LEVEL,
) -> dict[str, list[float]]:
    """Paired interval of `mean over minuend runs - mean over subtrahend runs` for every metric both sides share.

    Each side is a list of runs, each run a list of tables (one run for a plain two-model comparison; one run per
    seed for repeated adaptations of the same base). Every resample draws one set of items and scores every run of
    both sides on it, so the interval reflects which items the benchmark happened to contain, given these runs; it
    does not include run-to-run (seed) variation, which the spread over the runs themselves shows.
    """
    first = _mean_over_runs(minuend, num_resamples, seed)
    second = _mean_over_runs(subtrahend, num_resamples, seed)
    for name in first.keys() & second.keys():
        check_paired(*(next(t for t in side[0] if t.name == name) for side in (minuend, subtrahend)))
    return {
        metric: percentile_interval(first[name][metric] - second[name][metric], level)
        for name in first.keys() & second.keys()
        for metric in first[name].keys() & second[name].keys()
    }
