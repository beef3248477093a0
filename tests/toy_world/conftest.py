"""Fixtures for the toy-world tests: one tiny world, built once per session (about two seconds)."""

import pytest

from dataset_scripts.toy_world import WorldConfig, build_world

TINY_WORLD = WorldConfig(
    seed=3, num_pretrain_clips=8, pretrain_frames_per_event=1, num_train_clips=4, num_valid_clips=3,
    num_benchmark_clips=6, num_workers=1,
)


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """``(world_dir, manifest)`` of a tiny world (every split and benchmark present)."""
    world_dir = str(tmp_path_factory.mktemp("toy_world"))
    manifest = build_world(world_dir, TINY_WORLD, log=lambda message: None)
    return world_dir, manifest
