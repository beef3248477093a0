"""``python -m dataset_scripts.toy_world --output_dir outputs/toy_world [--seed 0 --num_train_clips 480 …]``."""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import HfArgumentParser

from .world import WorldConfig, build_world


@dataclass
class BuildArguments:
    output_dir: str = field(default="outputs/toy_world", metadata={"help": "Where to write the world."})
    overwrite: bool = field(default=False, metadata={"help": "Rebuild even if a world with this fingerprint exists."})


def main(argv=None) -> None:
    build_args, config = HfArgumentParser((BuildArguments, WorldConfig)).parse_args_into_dataclasses(argv)
    build_world(build_args.output_dir, config, overwrite=build_args.overwrite)


if __name__ == "__main__":
    main()
