"""Generic image–caption pairs for the retention options (not in the paper): replay batches mixed into training and
the fixed caption set of similarity distillation (`--generic_dataset`, `--replay_loss_weight`, `--distillation_target
similarities`).

Replay batches are a function of (seed, draw, process) only, never of an iterator's state: draw `d` (the `d`-th
micro-batch of the run, `global_step × gradient_accumulation_steps + micro-batch within the step`) takes positions
`[d·R·P, (d+1)·R·P)` of an endless stream of shuffles of the dataset (one permutation per pass, seeded by (seed,
pass)), and process `p` of `P` takes its own `R` of them. So a resumed run draws exactly what the uninterrupted one
would, and P processes with `R` pairs each see together what one process with `P·R` pairs sees.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

#: Second word of every replay shuffle's seed, so that it never coincides with another stream seeded by `--seed`.
REPLAY_STREAM = 7_304


class GenericDatasetError(ValueError):
    """`--generic_dataset` cannot be used as given; the message names the dataset and what to fix."""


def _saved_to_disk(path: str) -> bool:
    return os.path.isdir(path) and any(
        os.path.isfile(os.path.join(path, name)) for name in ("state.json", "dataset_dict.json")
    )


def load_generic_dataset(source: str, split: str = "train", cache_dir: str | None = None):
    """The `datasets.Dataset` of `source`: a folder written by `save_to_disk` (a `DatasetDict` gives its `split`), or
    anything `datasets.load_dataset(source, split=split)` reads (a local folder such as an imagefolder with
    `metadata.jsonl`, a Hub id in the cache). Raises `GenericDatasetError` naming `source` when it cannot."""
    import datasets

    from ..preflight import is_hub_id

    if not os.path.exists(source) and not is_hub_id(source):
        raise GenericDatasetError(f"--generic_dataset {source!r} does not exist (a folder or a Hub dataset id).")
    if _saved_to_disk(source):
        loaded = datasets.load_from_disk(source)
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise GenericDatasetError(
                    f"--generic_dataset {source!r} has no split {split!r} (--generic_split); it has "
                    f"{', '.join(loaded)}."
                )
            loaded = loaded[split]
        return loaded
    try:
        return datasets.load_dataset(source, split=split, cache_dir=cache_dir)
    except Exception as error:  # datasets raises many kinds; the user needs the dataset named
        raise GenericDatasetError(
            f"--generic_dataset {source!r} (split {split!r}) could not be loaded by datasets.load_dataset: "
            f"{type(error).__name__}: {error}"
        ) from error


def check_generic_columns(dataset, source: str, image_column: str, caption_column: str) -> None:
    """Refuse a dataset without rows or without the image / caption column, naming the dataset and the column."""
    columns = list(dataset.column_names)
    for flag, column in (("--generic_image_column", image_column), ("--generic_caption_column", caption_column)):
        if column not in columns:
            raise GenericDatasetError(
                f"--generic_dataset {source!r} has no column {column!r} ({flag}); its columns are "
                f"{', '.join(columns) or 'none'}."
            )
    if len(dataset) == 0:
        raise GenericDatasetError(f"--generic_dataset {source!r} is empty: no image–caption pairs to replay.")


class GenericPairs:
    """Image–caption pairs of the generic dataset, served as model inputs (see the module docstring).

    Args:
        dataset: a `datasets.Dataset` with `image_column` (PIL images, or paths to image files) and `caption_column`
            (strings, or lists of strings: one is taken per pass over the data).
        source: its name, for messages.
        image_processor / tokenizer: the model's CLIP image processor and tokenizer.
        seed: seed of the shuffles.
    """

    def __init__(self, dataset, source: str, image_column: str, caption_column: str, image_processor, tokenizer,
                 seed: int, max_length: int = 77) -> None:
        check_generic_columns(dataset, source, image_column, caption_column)
        self.dataset = dataset.select_columns([image_column, caption_column])
        self.source, self.image_column, self.caption_column = source, image_column, caption_column
        self.image_processor, self.tokenizer, self.seed = image_processor, tokenizer, int(seed)
        self.max_length = min(max_length, tokenizer.model_max_length)
        self._permutation: tuple[int, np.ndarray] | None = None
        self._check_first_row()

    @classmethod
    def from_arguments(cls, data_args, image_processor, tokenizer, seed: int) -> GenericPairs:
        """From `--generic_dataset`, `--generic_split` and the column flags of `DataArguments`."""
        dataset = load_generic_dataset(data_args.generic_dataset, data_args.generic_split, data_args.dataset_cache_dir)
        return cls(dataset, data_args.generic_dataset, data_args.generic_image_column, data_args.generic_caption_column,
                   image_processor, tokenizer, seed)

    def __len__(self) -> int:
        return len(self.dataset)

    def _check_first_row(self) -> None:
        row = self.dataset[0]
        self._image(row[self.image_column], 0)
        self._caption(row[self.caption_column], 0, 0)

    # ------------------------------------------------------------------ rows
    def _image(self, value: Any, index: int):
        from PIL import Image

        if isinstance(value, str):
            value = Image.open(value)
        if not isinstance(value, Image.Image):
            raise GenericDatasetError(
                f"--generic_dataset {self.source!r}: column {self.image_column!r} (--generic_image_column) holds "
                f"{type(value).__name__} at row {index}, not an image (a datasets Image feature, or a file path)."
            )
        return value.convert("RGB")

    def _caption(self, value: Any, index: int, pass_index: int) -> str:
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
            value = value[pass_index % len(value)]
        if not isinstance(value, str):
            raise GenericDatasetError(
                f"--generic_dataset {self.source!r}: column {self.caption_column!r} (--generic_caption_column) holds "
                f"{type(value).__name__} at row {index}, not a caption (a string, or a list of strings)."
            )
        return value

    def _pass_permutation(self, pass_index: int) -> np.ndarray:
        if self._permutation is None or self._permutation[0] != pass_index:
            rng = np.random.default_rng([self.seed, REPLAY_STREAM, pass_index])
            self._permutation = (pass_index, rng.permutation(len(self.dataset)))
        return self._permutation[1]

    def positions(self, draw: int, batch_size: int, process_index: int = 0, num_processes: int = 1) -> list[int]:
        """Stream positions of this process's share of draw `draw` (`batch_size` pairs per process)."""
        start = (draw * num_processes + process_index) * batch_size
        return list(range(start, start + batch_size))

    def rows(self, positions: Sequence[int]) -> list[tuple[int, int]]:
        """`(row index, pass)` of stream positions: position `k` is row `permutation_{k // N}[k % N]`."""
        size = len(self.dataset)
        return [(int(self._pass_permutation(k // size)[k % size]), k // size) for k in positions]

    def pairs(self, positions: Sequence[int]) -> tuple[list, list[str]]:
        """The images (RGB) and captions at stream `positions`."""
        rows = self.rows(positions)
        selected = self.dataset[[index for index, _ in rows]]
        images = [self._image(value, index) for value, (index, _) in zip(selected[self.image_column], rows)]
        captions = [self._caption(value, index, pass_index)
                    for value, (index, pass_index) in zip(selected[self.caption_column], rows)]
        return images, captions

    def tokenize(self, captions: Sequence[str]) -> dict[str, torch.Tensor]:
        """Token ids padded to a fixed length, so that a caption's embedding never depends on its batch."""
        encoded = self.tokenizer(list(captions), padding="max_length", truncation=True, max_length=self.max_length,
                                 return_tensors="pt")
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}

    def replay_inputs(self, draw: int, batch_size: int, process_index: int = 0,
                      num_processes: int = 1) -> dict[str, torch.Tensor]:
        """`FigClipModel.forward`'s replay inputs for draw `draw`: `replay_pixel_values`, `replay_input_ids`,
        `replay_attention_mask`."""
        images, captions = self.pairs(self.positions(draw, batch_size, process_index, num_processes))
        tokens = self.tokenize(captions)
        return {
            "replay_pixel_values": self.image_processor(images=images, return_tensors="pt")["pixel_values"],
            "replay_input_ids": tokens["input_ids"],
            "replay_attention_mask": tokens["attention_mask"],
        }

    def distillation_captions(self, count: int) -> list[str]:
        """A fixed set of up to `count` distinct captions: those of evenly spaced rows (first caption of a list)."""
        size = len(self.dataset)
        indices = sorted({int(i) for i in np.linspace(0, size - 1, num=min(count, size))})
        values = self.dataset.select_columns([self.caption_column])[indices][self.caption_column]
        return list(dict.fromkeys(self._caption(value, index, 0) for value, index in zip(values, indices)))
