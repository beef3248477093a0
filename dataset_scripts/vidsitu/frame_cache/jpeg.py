"""JPEG encoding and decoding of cached frames, on the CPU or on a CUDA device, and CLIP normalisation.

Measured (`benchmarks/bench_input_pipeline.py`, 224² crops of textured 360×640 frames, JPEG quality 90, one core of
a shared 2-core machine): through `FrameCacheLoader`, `torchvision.io.decode_jpeg` on a list of frames gives 1,539
frames/s against PIL's 1,111, and returns channels-first tensors directly, so it is the default CPU backend;
``backend="pil"`` stays for comparison. With
``device="cuda"`` the batch is decoded by nvJPEG (`decode_jpeg(..., device="cuda")`) and can be normalised there,
for hosts whose CPU cores cannot keep up; without CUDA it falls back to the CPU with one warning.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Sequence

import numpy as np
import torch

logger = logging.getLogger(__name__)

BACKENDS = ("torchvision", "pil")


CHROMA_SUBSAMPLING = ("4:2:0", "4:4:4")


def encode_jpegs(frames: torch.Tensor, quality: int, chroma_subsampling: str = "4:2:0") -> list[bytes]:
    """uint8 frames ``(N, 3, H, W)`` → JPEG bytes. ``"4:2:0"`` (torchvision's encoder; what ffmpeg writes for JPEG
    frame folders) is smaller and faster to decode; ``"4:4:4"`` (PIL) keeps fine colour detail (e.g. the toy world's
    1-pixel coloured trails) at ~1.5x the size and decoding time."""
    if chroma_subsampling not in CHROMA_SUBSAMPLING:
        raise ValueError(f"chroma_subsampling must be one of {CHROMA_SUBSAMPLING}, got {chroma_subsampling!r}")
    if len(frames) == 0:
        return []
    if chroma_subsampling == "4:2:0":
        from torchvision.io import encode_jpeg

        return [blob.numpy().tobytes() for blob in encode_jpeg(list(frames.contiguous()), quality=quality)]
    from PIL import Image

    blobs = []
    for frame in frames:
        buffer = io.BytesIO()
        Image.fromarray(frame.permute(1, 2, 0).numpy()).save(buffer, format="JPEG", quality=quality, subsampling=0)
        blobs.append(buffer.getvalue())
    return blobs


def as_byte_tensor(blob: bytes | memoryview | np.ndarray) -> torch.Tensor:
    """A 1-D uint8 tensor over JPEG bytes (no copy; torchvision's decoders only read it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # read-only buffer: decoding never writes to it
        return torch.frombuffer(blob, dtype=torch.uint8)


def resolve_device(device: str | torch.device) -> torch.device:
    """``device``, or the CPU (with a warning) when it names CUDA and CUDA is not available."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        warnings.warn(f"JPEG decoding on {device} asked for, but CUDA is not available: decoding on the CPU.")
        return torch.device("cpu")
    return device


class JpegDecoder:
    """Decode a batch of JPEG frames into one uint8 tensor ``(N, 3, H, W)`` on ``device``.

    Args:
        device: ``"cpu"`` or a CUDA device (nvJPEG, batched); CUDA without a GPU falls back to the CPU.
        backend: CPU decoder, ``"torchvision"`` (default, faster) or ``"pil"``.
    """

    def __init__(self, device: str | torch.device = "cpu", backend: str = "torchvision"):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.device = resolve_device(device)
        self.backend = backend

    def __call__(self, blobs: Sequence[bytes | memoryview | np.ndarray]) -> torch.Tensor:
        """The frames stacked into one tensor ``(N, 3, H, W)`` (all must have the same size)."""
        if not blobs:
            raise ValueError("no JPEG frames to decode")
        return torch.stack(self.decode_list(blobs))

    def decode_list(self, blobs: Sequence[bytes | memoryview | np.ndarray]) -> list[torch.Tensor]:
        """One uint8 tensor ``(3, H, W)`` per frame (lets the caller place them without an extra copy)."""
        if self.device.type == "cuda":
            from torchvision.io import decode_jpeg

            # One batched nvJPEG call; the compressed bytes are what crosses the PCIe bus (~10x less than pixels).
            return list(decode_jpeg([as_byte_tensor(blob) for blob in blobs], device=self.device))
        if self.backend == "pil":
            from PIL import Image

            return [
                torch.from_numpy(np.asarray(Image.open(io.BytesIO(bytes(blob))).convert("RGB"))).permute(2, 0, 1)
                for blob in blobs
            ]
        from torchvision.io import ImageReadMode, decode_jpeg

        return list(decode_jpeg([as_byte_tensor(blob) for blob in blobs], mode=ImageReadMode.RGB))

    def __repr__(self) -> str:
        return f"JpegDecoder(device={str(self.device)!r}, backend={self.backend!r})"


class Normalizer:
    """uint8 frames ``(..., 3, H, W)`` → CLIP pixel values ``(x / 255 - mean) / std`` in ``dtype``, on the frames'
    device (the image processor's values within float rounding)."""

    def __init__(self, image_mean: Sequence[float], image_std: Sequence[float], dtype: torch.dtype = torch.float32):
        mean = torch.tensor(image_mean, dtype=torch.float32)
        std = torch.tensor(image_std, dtype=torch.float32)
        self.scale = (1.0 / (255.0 * std)).view(3, 1, 1)
        self.shift = (-mean / std).view(3, 1, 1)
        self.dtype = dtype

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        scale, shift = self.scale.to(frames.device), self.shift.to(frames.device)
        # In place on the fresh float copy: 20x faster on the CPU than torch.addcmul with a broadcast `shift`.
        out = frames.to(torch.float32).mul_(scale).add_(shift)
        return out if self.dtype == torch.float32 else out.to(self.dtype)
