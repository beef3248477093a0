"""Data shared by the toy-world tests (a uniquely named module: `conftest` is ambiguous when several test folders
run together)."""

from dataset_scripts.toy_world import WorldConfig

TINY_WORLD = WorldConfig(
    seed=3, num_pretrain_clips=8, pretrain_frames_per_event=1, num_train_clips=4, num_valid_clips=3,
    num_benchmark_clips=6, num_workers=1,
)
