"""Checks the recipes run before any work starts, so that a run which cannot finish says why in one line.

Each function answers one question about the machine (can this folder be written, is this device present, is this Hub
model reachable, can this run push to the Hub) and returns the problem as a sentence naming the flag, or `None` when
there is none. The callers decide how to report it (`TrainingSetupError`, `ValueError`, `error: …` on the console).
"""

from __future__ import annotations

import os

from huggingface_hub import get_token, is_offline_mode, try_to_load_from_cache, whoami
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

#: Files one of which a Hub model repo of any kind this project loads holds (a checkpoint or an adapter).
MODEL_MARKER_FILES = ("config.json", "adapter_config.json")

OFFLINE_NOTE = "this machine is offline (HF_HUB_OFFLINE=1)"


def _nearest_existing(path: str) -> str:
    """`path` itself if it exists, else its closest existing ancestor."""
    path = os.path.abspath(path)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def _writable_folder_problem(folder: str) -> str | None:
    """Why files cannot be created in the existing path `folder`, or None."""
    if not os.path.isdir(folder):
        return f"{folder} is a file, not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{folder} is not writable"
    return None


def output_dir_problem(path: str, flag: str) -> str | None:
    """Why the folder `path` cannot be created or written to (without creating anything), or None."""
    problem = _writable_folder_problem(_nearest_existing(path))
    return f"{flag} {path} cannot be used: {problem}." if problem else None


def output_file_problem(path: str, flag: str) -> str | None:
    """Why the file `path` cannot be written (a folder in its place, or its folder unusable), or None."""
    if os.path.isdir(path):
        return f"{flag} {path} is a folder; give a file name (e.g. {os.path.join(path, 'results.json')})."
    problem = _writable_folder_problem(_nearest_existing(os.path.dirname(os.path.abspath(path))))
    return f"{flag} {path} cannot be written: {problem}." if problem else None


def input_dir_problem(path: str | None, flag: str, holds: str) -> str | None:
    """Why the input folder `path` (which should hold `holds`) cannot be read, or None; an unset path is no problem."""
    if path is None:
        return None
    if not os.path.exists(path):
        return f"{flag} {path} does not exist (it should be the folder holding {holds})."
    if not os.path.isdir(path):
        return f"{flag} {path} is a file; it should be the folder holding {holds}."
    return None


def is_hub_id(name_or_path: str) -> bool:
    """True when `name_or_path` is not an existing path and is spelled like a Hub repo id (`name` or `owner/name`)."""
    if os.path.exists(name_or_path):
        return False
    try:
        validate_repo_id(name_or_path)
    except HFValidationError:
        return False
    return True


def offline_hub_model_problem(name_or_path: str, flag: str) -> str | None:
    """Why the Hub model `name_or_path` cannot be loaded offline (not in the local cache), or None.

    Online, or for a local path, there is nothing to say here: transformers downloads, and path checks are the
    caller's.
    """
    if not is_offline_mode() or not is_hub_id(name_or_path):
        return None
    if any(isinstance(try_to_load_from_cache(name_or_path, name), str) for name in MODEL_MARKER_FILES):
        return None
    return (
        f"{flag} {name_or_path}: this Hub model is not in the local Hugging Face cache and {OFFLINE_NOTE}; download it "
        f"while online (hf download {name_or_path}) or pass a local folder."
    )


def device_problem(device: str | None, flag: str = "--device") -> str | None:
    """Why torch cannot use `device` on this machine (unknown name, backend absent, index too high), or None."""
    import torch

    if device is None:
        return None
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        return f"{flag} {device!r} is not a device name; use cpu, cuda or cuda:N (unset: cuda if available, else cpu)."
    backend = getattr(torch, parsed.type, None)
    if parsed.type == "cpu" or backend is None or not hasattr(backend, "is_available"):
        return None
    if not backend.is_available():
        return (
            f"{flag} {device}: {parsed.type.upper()} is not available on this machine; use --device cpu (or leave "
            "--device unset)."
        )
    count = backend.device_count() if hasattr(backend, "device_count") else None
    if parsed.index is not None and count is not None and parsed.index >= count:
        kind = parsed.type
        return f"{flag} {device}: this machine has {count} {kind} device(s), {kind}:0 to {kind}:{count - 1}."
    return None


def hub_push_problem(repo_id: str, flag: str = "--push_to_hub") -> str | None:
    """Why an upload to `repo_id` at the end of a run would fail (offline, no token, token refused, a namespace the
    account cannot write to), or None. Asks the Hub who the token belongs to when online."""
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        return f"--hub_model_id {repo_id!r} is not a Hub repo id: {error}"
    if is_offline_mode():
        return (
            f"{flag}: {OFFLINE_NOTE}, so nothing could be uploaded after training; unset HF_HUB_OFFLINE or drop {flag}."
        )
    token = get_token()
    if token is None:
        return f"{flag}: no Hugging Face token found; run `hf auth login` or set HF_TOKEN before training."
    try:
        account = whoami(token=token)
    except Exception as error:  # any failure here (refused token, no network) would also fail the upload
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"{flag}: the Hub did not accept the token ({first_line})."
    namespace = repo_id.split("/")[0] if "/" in repo_id else None
    writable = {account.get("name"), *(org.get("name") for org in account.get("orgs", []))}
    if namespace is not None and namespace not in writable:
        return (
            f"--hub_model_id {repo_id}: the token belongs to {account.get('name')!r}, which cannot write to "
            f"{namespace!r} (writable: {', '.join(sorted(n for n in writable if n))})."
        )
    return None


def missing_trackers_problem(trackers: list[str], flag: str = "--report_to") -> str | None:
    """Why Accelerate would leave out one of `trackers` (its package is not installed: Accelerate drops it silently),
    or None. `all` means whatever is installed."""
    from accelerate.tracking import get_available_trackers

    installed = sorted(str(tracker) for tracker in get_available_trackers())
    missing = [name for name in trackers if name != "all" and name not in installed]
    if not missing:
        return None
    return (
        f"{flag} {','.join(missing)}: not installed here (installed trackers: {', '.join(installed) or 'none'}); "
        f"install {' and '.join(missing)} or choose another tracker (none: no tracker)."
    )
