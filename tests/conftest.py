"""Test-wide settings: everything runs offline, on CPU, deterministically; fixtures every test folder can use."""

import os
import socket

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def pick_free_port() -> int:
    """A TCP port free on localhost right now (the OS picks it for a socket bound to port 0), so that distributed
    tests running side by side, or next to another job, never fight over a fixed port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def free_port() -> int:
    """A free localhost port for one test's rendezvous (torchrun --master_port, accelerate --main_process_port)."""
    return pick_free_port()
