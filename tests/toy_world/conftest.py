"""Fixtures for the toy-world tests: one tiny world, built once per session (about two seconds)."""

import pytest
from toy_world_fixtures import TINY_WORLD

from dataset_scripts.toy_world import build_world


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """``(world_dir, manifest)`` of a tiny world (every split and benchmark present)."""
    world_dir = str(tmp_path_factory.mktemp("toy_world"))
    manifest = build_world(world_dir, TINY_WORLD, log=lambda message: None)
    return world_dir, manifest
