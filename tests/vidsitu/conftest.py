"""Fixtures for the VidSitu tests: small synthetic releases in the official format (built once per session)."""

import pytest
from vidsitu_fixtures import index_frames

from dataset_scripts.vidsitu import write_synthetic_release


@pytest.fixture(scope="session")
def release(tmp_path_factory):
    """A small synthetic release with mp4 clips and frame folders (coloured frames)."""
    return write_synthetic_release(
        str(tmp_path_factory.mktemp("vidsitu_release")), num_train=6, num_valid=3, num_test=2, seed=0, video="both",
        size=(32, 32),
    )  # fmt: skip


@pytest.fixture(scope="session")
def index_release(tmp_path_factory):
    """A release whose frames encode their own index, to check which frames get sampled."""
    return write_synthetic_release(
        str(tmp_path_factory.mktemp("vidsitu_index")), num_train=2, num_valid=1, num_test=1, seed=3, video="both",
        size=(32, 32), frames_fn=index_frames,
    )  # fmt: skip


@pytest.fixture
def cache_dir(tmp_path):
    return str(tmp_path / "hf_cache")
