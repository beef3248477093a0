"""The VidSitu frame cache: same sampling as the frame loader, frames within a stated JPEG tolerance, resumable and
verified builds, strict/lenient bad videos exactly as the loader, streaming by node, CPU/GPU JPEG decoding."""

import json
import os
import pickle
import shutil
import warnings
import zlib

import numpy as np
import pytest
import torch
from vidsitu_fixtures import decode_index, write_bad_videos

from dataset_scripts.vidsitu import (
    VidSituFormatError,
    VidSituFrameLoader,
    default_frames_fn,
    write_synthetic_release,
)
from dataset_scripts.vidsitu.frame_cache import (
    FrameCache,
    FrameCacheLoader,
    JpegDecoder,
    build_frame_cache,
    candidate_times,
    decode_on_device,
    list_split_clip_ids,
    load_image_processor,
    verify_frame_cache,
)
from dataset_scripts.vidsitu.frame_cache import build as build_module
from dataset_scripts.vidsitu.frame_cache.__main__ import main as frame_cache_main
from dataset_scripts.vidsitu.frames import jitter_generator, segment_offsets

EXPECTED_INDICES = [  # segment centres at 30 fps (as in test_vidsitu_frames)
    [7, 22, 37, 52],
    [67, 82, 97, 112],
    [127, 142, 157, 172],
    [187, 202, 217, 232],
    [247, 262, 277, 292],
]
# Stated tolerance of cached evaluation frames against decoded ones pushed through the same CLIP processor, on
# camera-like content (`textured_frames`), JPEG quality 90 with 4:2:0 chroma (as ffmpeg's own JPEG frame folders):
# measured PSNR 34.6 dB / mean absolute error 3.5 grey levels at 64², 35.5 dB / 3.2 at 224². Almost all of it is the
# chroma subsampling (quality 100 only reaches 36.6 dB); content with strong fine colour detail loses more.
MIN_PSNR_DB = 32.0
MAX_MEAN_ABS_LEVELS = 5.0


def _indices(frames):
    return [[decode_index(frame) for frame in event] for event in frames]


def textured_frames(clip_id, annotation, num_frames, fps, size):
    """Camera-like frames (as benchmarks/bench_vidsitu.py makes them): the default coloured frames blended with a
    smooth random texture panning 2 px per frame, plus mild noise."""
    rng = np.random.default_rng(zlib.crc32(clip_id.encode()))
    height, width = size
    coarse = rng.integers(0, 256, (1, 3, height // 8 + 2, (width + 2 * num_frames) // 8 + 2)).astype(np.float32)
    texture = torch.nn.functional.interpolate(torch.from_numpy(coarse), scale_factor=8, mode="bicubic")
    texture = texture[0].permute(1, 2, 0).clamp(0, 255).numpy().astype(np.int16)
    base = default_frames_fn(clip_id, annotation, num_frames, fps, size).astype(np.int16)
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for index in range(num_frames):
        noise = rng.integers(-4, 5, (height, width, 3))
        frames[index] = np.clip(base[index] // 2 + texture[:height, 2 * index : 2 * index + width] // 2 + noise, 0, 255)
    return frames


@pytest.fixture(scope="module")
def processor():
    return load_image_processor(size=32)


@pytest.fixture(scope="module")
def index_cache(index_release, processor, tmp_path_factory):
    """Caches of the index-encoding release, from its mp4s and from its frame folders."""
    clip_ids, _ = list_split_clip_ids(index_release.root, ["train", "valid"])
    caches = {}
    for source in ("video_dir", "frames_dir"):
        out = str(tmp_path_factory.mktemp(f"index_cache_{source}"))
        build_frame_cache(out, clip_ids, **{source: getattr(index_release, source)}, processor=processor,
                          jpeg_quality=95, progress=False)  # fmt: skip
        caches[source] = out
    return caches


# --- sampling -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["video_dir", "frames_dir"])
def test_evaluation_frames_are_the_loaders(index_release, index_cache, source):
    clip_id = index_release.split_ids["train"][0]
    cached, cached_mask = FrameCacheLoader(index_cache[source]).load(clip_id)
    decoded, decoded_mask = VidSituFrameLoader(**{source: getattr(index_release, source)}).load(clip_id)
    assert cached.shape == (5, 4, 32, 32, 3) and cached.dtype == np.uint8
    assert cached_mask.all() and decoded_mask.all()
    assert _indices(cached) == _indices(decoded) == EXPECTED_INDICES
    np.testing.assert_array_equal(FrameCacheLoader(index_cache[source]).sample_times(clip_id),
                                  VidSituFrameLoader(**{source: "x"}).sample_times(clip_id))  # fmt: skip


@pytest.mark.parametrize("source", ["video_dir", "frames_dir"])
def test_jitter_picks_the_candidate_holding_the_loaders_time(index_release, index_cache, source):
    segment, candidates = 0.5, 4
    for clip_id in index_release.split_ids["train"]:
        cache = FrameCacheLoader(index_cache[source], jitter=True, seed=7)
        loader = VidSituFrameLoader(**{source: getattr(index_release, source)}, jitter=True, seed=7)
        for epoch in range(3):
            cache.set_epoch(epoch)
            loader.set_epoch(epoch)
            loader_times, cache_times = loader.sample_times(clip_id), cache.sample_times(clip_id)
            # The same draws: candidate floor(u K) is the sub-segment holding the loader's time.
            offsets = segment_offsets(4, jitter=True, rng=jitter_generator(7, epoch, clip_id))
            np.testing.assert_array_equal(cache.sample_choice(clip_id), np.floor(offsets * candidates))
            assert np.abs(cache_times - loader_times).max() <= segment / (2 * candidates) + 1e-9
            # The cached frames are the frames the loader decodes at the cache's times (same frame indices).
            frames, mask = cache.load(clip_id)
            assert mask.all()
            at_cache_times = loader.decode_at(clip_id, cache_times)
            assert _indices(frames) == _indices(np.stack(at_cache_times).reshape(5, 4, 32, 32, 3))
        times = [FrameCacheLoader(index_cache[source], jitter=True, seed=7).sample_times(clip_id) for _ in range(2)]
        np.testing.assert_array_equal(*times)  # a pure function of (seed, epoch, clip)
    worker = pickle.loads(pickle.dumps(cache))  # what a dataloader worker gets
    np.testing.assert_array_equal(worker.sample_times(clip_id), cache.sample_times(clip_id))


def test_candidate_times_cover_each_segment():
    times = candidate_times(4, 4)
    assert times.shape == (5, 4, 4)
    np.testing.assert_allclose(times[0, 0], [0.0625, 0.1875, 0.3125, 0.4375])
    np.testing.assert_allclose(times[4, 3], [9.5625, 9.6875, 9.8125, 9.9375])


# --- fidelity ------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def textured_release(tmp_path_factory):
    return write_synthetic_release(
        str(tmp_path_factory.mktemp("textured")), num_train=3, num_valid=1, num_test=0, seed=2, video="mp4",
        size=(72, 128), frames_fn=textured_frames, codec_options={"preset": "medium", "crf": "23"},
    )  # fmt: skip


def test_evaluation_pixels_within_the_stated_tolerance(textured_release, tmp_path):
    processor = load_image_processor(size=64)
    clip_ids, _ = list_split_clip_ids(textured_release.root, ["train", "valid"])
    build_frame_cache(str(tmp_path), clip_ids, video_dir=textured_release.video_dir, processor=processor,
                      progress=False)  # fmt: skip
    cache = FrameCacheLoader(str(tmp_path), image_mean=processor.image_mean, image_std=processor.image_std)

    def through_processor(frames):
        return processor(images=list(frames), return_tensors="pt")["pixel_values"]

    loader = VidSituFrameLoader(video_dir=textured_release.video_dir, image_transform=through_processor)
    cached, decoded = cache({"clip_id": clip_ids}), loader({"clip_id": clip_ids})
    std = torch.tensor(processor.image_std).view(3, 1, 1)
    for ours, theirs in zip(cached["pixel_values_videos"], decoded["pixel_values_videos"]):
        assert ours.shape == theirs.shape == (5, 4, 3, 64, 64) and ours.dtype == theirs.dtype == torch.float32
        levels = (ours - theirs) * std * 255  # back to grey levels
        psnr = 10 * torch.log10(255**2 / levels.pow(2).mean())
        assert psnr >= MIN_PSNR_DB and levels.abs().mean() <= MAX_MEAN_ABS_LEVELS, (psnr, levels.abs().mean())
    assert all(mask.all() for mask in cached["event_mask"])


# --- build: resume, verification, settings ----------------------------------------------------------------------------
def test_interrupted_build_resumes_and_gives_the_same_cache(release, processor, tmp_path, monkeypatch):
    clip_ids, counts = list_split_clip_ids(release.root, ["train", "valid", "testvb"])
    assert counts == {"train": 6, "valid": 3, "testvb": 2}
    options = dict(video_dir=release.video_dir, processor=processor, clips_per_shard=4, progress=False)
    reference = build_frame_cache(str(tmp_path / "reference"), clip_ids, **options)
    assert [len(shard.clip_ids) for shard in reference.manifest.shards] == [4, 4, 3]

    original = build_module.ClipEncoder.__call__
    encoded = []

    def crash_on_sixth(self, clip_id):
        encoded.append(clip_id)
        if len(encoded) == 6:
            raise KeyboardInterrupt  # killed in the middle of the second shard
        return original(self, clip_id)

    target = str(tmp_path / "resumed")
    monkeypatch.setattr(build_module.ClipEncoder, "__call__", crash_on_sixth)
    with pytest.raises(KeyboardInterrupt):
        build_frame_cache(target, clip_ids, **options)
    monkeypatch.setattr(build_module.ClipEncoder, "__call__", original)
    names = sorted(os.listdir(target))
    assert "frames-00000-of-00003.json" in names and "frames-00001-of-00003.json" not in names
    assert "frames-00001-of-00003.arrow.tmp" in names and "manifest.json" not in names
    with pytest.raises(FileNotFoundError, match="not a complete frame cache"):
        FrameCache(target)
    first_shard = os.stat(os.path.join(target, "frames-00000-of-00003.arrow"))

    resumed = build_frame_cache(target, clip_ids, **options)
    assert (resumed.reused_shards, resumed.built_shards, resumed.clips_encoded) == (1, 2, 7)
    assert os.stat(os.path.join(target, "frames-00000-of-00003.arrow")).st_mtime_ns == first_shard.st_mtime_ns
    assert not [name for name in os.listdir(target) if ".tmp" in name]
    assert [s.sha256 for s in resumed.manifest.shards] == [s.sha256 for s in reference.manifest.shards]
    verify_frame_cache(target)
    again = build_frame_cache(target, clip_ids, **options)  # complete: nothing to do
    assert (again.reused_shards, again.built_shards) == (3, 0)

    with pytest.raises(ValueError, match="other settings"):
        build_frame_cache(target, clip_ids, **{**options, "processor": load_image_processor(size=16)})
    assert build_frame_cache(target, clip_ids[:5], **options, overwrite=True).manifest.num_clips == 5


def test_verification_catches_a_damaged_shard(release, processor, tmp_path):
    clip_ids, _ = list_split_clip_ids(release.root, ["valid"])
    manifest = build_frame_cache(str(tmp_path), clip_ids, frames_dir=release.frames_dir, processor=processor,
                                 progress=False).manifest  # fmt: skip
    assert manifest.num_clips == 3 and manifest.num_frames == 3 * (20 + 80)  # every stored time is its own frame
    assert verify_frame_cache(str(tmp_path)).num_frames == manifest.num_frames
    path = os.path.join(str(tmp_path), manifest.shards[0].file)
    with open(path, "r+b") as handle:
        handle.seek(os.path.getsize(path) // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match="sha256"):
        verify_frame_cache(str(tmp_path))


@pytest.mark.slow
def test_parallel_build_is_identical(release, processor, tmp_path):
    clip_ids, _ = list_split_clip_ids(release.root, ["train"])
    one = build_frame_cache(str(tmp_path / "one"), clip_ids, video_dir=release.video_dir, processor=processor,
                            clips_per_shard=3, progress=False)  # fmt: skip
    two = build_frame_cache(str(tmp_path / "two"), clip_ids, video_dir=release.video_dir, processor=processor,
                            clips_per_shard=3, num_proc=2, progress=False)  # fmt: skip
    assert [s.sha256 for s in one.manifest.shards] == [s.sha256 for s in two.manifest.shards]


def test_command_line_builds_and_verifies(release, tmp_path, capsys):
    out = str(tmp_path / "cache")
    frame_cache_main(["--vidsitu_dir", release.root, "--video_dir", release.video_dir, "--output_dir", out,
                      "--splits", "train", "--size", "16", "--candidates", "2", "--jpeg_quality", "80"])  # fmt: skip
    assert "6 clips in 1 shards" in capsys.readouterr().out
    with open(os.path.join(out, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    assert manifest["splits"] == {"train": 6} and manifest["settings"]["crop_size"] == [16, 16]
    assert manifest["settings"]["candidates"] == 2 and manifest["settings"]["jpeg_quality"] == 80
    assert frame_cache_main(["--output_dir", out, "--verify", "true"]) == 0
    assert "OK (6 clips" in capsys.readouterr().out


# --- bad videos -------------------------------------------------------------------------------------------------------
BAD_CLIPS = ["v_good_seg_0_10", "v_corrupt_seg_0_10", "v_short_seg_0_10", "v_missing_seg_0_10"]


@pytest.fixture(scope="module")
def bad_videos(tmp_path_factory):
    """One good, one short (7 s), one corrupt and one missing clip, as mp4 and as frame folders."""
    video_dir, frames_dir = write_bad_videos(str(tmp_path_factory.mktemp("bad_videos_cache")))
    return {"video_dir": video_dir, "frames_dir": frames_dir}


def _loader_error(source, folder, clip_id):
    with pytest.raises(VidSituFormatError) as info:
        VidSituFrameLoader(**{source: folder}).load(clip_id)
    return info.value


@pytest.mark.parametrize("source", ["video_dir", "frames_dir"])
def test_strict_build_stops_with_the_loaders_error(bad_videos, processor, tmp_path, source):
    folder = bad_videos[source]
    for clip_id in BAD_CLIPS[1:]:
        with pytest.raises(VidSituFormatError) as info:
            build_frame_cache(str(tmp_path / clip_id), ["v_good_seg_0_10", clip_id], **{source: folder},
                              processor=processor, progress=False)  # fmt: skip
        expected = _loader_error(source, folder, clip_id)
        assert str(info.value) == str(expected) and info.value.reason == expected.reason
        assert info.value.event == expected.event


@pytest.mark.parametrize("source", ["video_dir", "frames_dir"])
def test_lenient_cache_masks_and_counts_like_the_loader(bad_videos, processor, tmp_path, source):
    folder = bad_videos[source]
    manifest = build_frame_cache(str(tmp_path), BAD_CLIPS[:3] + ["v_missing_seg_0_10"], **{source: folder},
                                 processor=processor, strict=False, progress=False).manifest  # fmt: skip
    assert manifest.skipped == {"corrupt_video": 1, "missing_video": 1, "short_video": 1}

    cache = FrameCacheLoader(str(tmp_path), strict=False)
    loader = VidSituFrameLoader(**{source: folder}, strict=False, frame_size=(32, 32))
    ours, theirs = cache({"clip_id": BAD_CLIPS}), loader({"clip_id": BAD_CLIPS})
    assert [m.tolist() for m in ours["event_mask"]] == [m.tolist() for m in theirs["event_mask"]]
    assert [m.tolist() for m in ours["event_mask"]][2] == [True, True, True, False, False]
    assert dict(cache.stats) == dict(loader.stats) == {"corrupt_video": 1, "short_video": 1, "missing_video": 1}
    assert ours["frames_problem"] == theirs["frames_problem"] == ["", "corrupt_video", "short_video", "missing_video"]
    assert all(pixels.shape == (5, 4, 3, 32, 32) for pixels in ours["pixel_values_videos"])
    assert (ours["pixel_values_videos"][2][3:] == 0).all() and (ours["pixel_values_videos"][1] == 0).all()
    assert _indices(ours["pixel_values_videos"][2][:3].permute(0, 1, 3, 4, 2).numpy()) == EXPECTED_INDICES[:3]

    strict = FrameCacheLoader(str(tmp_path))  # a strict reader of a lenient cache raises the loader's errors
    for clip_id in BAD_CLIPS[1:]:
        with pytest.raises(VidSituFormatError) as info:
            strict.load(clip_id)
        assert str(info.value) == str(_loader_error(source, folder, clip_id))
    with pytest.raises(VidSituFormatError, match="not in the frame cache") as info:
        strict.load("v_unknown_seg_0_10")
    assert info.value.reason == "missing_video"


# --- reading ---------------------------------------------------------------------------------------------------------
def test_drop_in_for_the_loader_in_a_dataloader(index_release, index_cache):
    import datasets

    dataset = datasets.Dataset.from_dict({"clip_id": index_release.split_ids["train"], "text": ["a", "b"]})
    cache = FrameCacheLoader(index_cache["video_dir"], jitter=True, seed=1)
    rows = dataset.with_transform(cache)

    def collate(items):
        return torch.stack([item["pixel_values_videos"] for item in items]), [item["text"] for item in items]

    serial = next(iter(torch.utils.data.DataLoader(rows, batch_size=2, collate_fn=collate)))
    workers = next(iter(torch.utils.data.DataLoader(rows, batch_size=2, num_workers=2, collate_fn=collate)))
    assert serial[0].shape == (2, 5, 4, 3, 32, 32) and serial[0].dtype == torch.uint8 and serial[1] == ["a", "b"]
    torch.testing.assert_close(serial[0], workers[0], rtol=0, atol=0)
    assert rows["text"] == ["a", "b"]  # text columns never decode


def test_frames_per_event_and_size_must_match(index_cache, processor):
    with pytest.raises(ValueError, match="holds 4 frames per event, not 2"):
        FrameCacheLoader(index_cache["video_dir"], frames_per_event=2)
    cache = FrameCacheLoader(index_cache["video_dir"])
    cache.check_processor(processor)
    with pytest.raises(ValueError, match=r"cropped to \(32, 32\).*crops to \(64, 64\)"):
        cache.check_processor(load_image_processor(size=64))


def test_streams_split_by_node(release, processor, tmp_path):
    from datasets.distributed import split_dataset_by_node

    clip_ids, _ = list_split_clip_ids(release.root, ["train", "valid"])
    build_frame_cache(str(tmp_path), clip_ids, video_dir=release.video_dir, processor=processor, clips_per_shard=3,
                      progress=False)  # fmt: skip
    cache = FrameCache(str(tmp_path))
    stream = cache.dataset().to_iterable_dataset(num_shards=len(cache.manifest.shards))
    per_node = [[row["clip_id"] for row in split_dataset_by_node(stream, rank, 2)] for rank in range(2)]
    assert not set(per_node[0]) & set(per_node[1]) and sorted(per_node[0] + per_node[1]) == sorted(clip_ids)
    first = next(iter(split_dataset_by_node(stream, 0, 2)))
    assert first["frames"][0].size == (32, 32)  # a datasets Image column: PIL images when read through datasets


# --- JPEG decoding ---------------------------------------------------------------------------------------------------
def _some_jpegs(index_cache, index_release):
    clip = FrameCache(index_cache["video_dir"]).get(index_release.split_ids["train"][0])
    return [clip.jpeg(int(index)) for index in clip.eval_index]


def test_pil_and_torchvision_decode_alike(index_cache, index_release):
    jpegs = _some_jpegs(index_cache, index_release)
    ours, pil = JpegDecoder(backend="torchvision")(jpegs), JpegDecoder(backend="pil")(jpegs)
    assert ours.shape == pil.shape == (20, 3, 32, 32) and ours.dtype == pil.dtype == torch.uint8
    assert (ours.int() - pil.int()).abs().max() <= 2  # two libjpeg builds: IDCT rounding only


def test_cuda_decoding_falls_back_to_the_cpu_without_a_gpu(index_cache, index_release):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: test_cuda_decoding_matches_the_cpu covers it")
    jpegs = _some_jpegs(index_cache, index_release)
    with pytest.warns(UserWarning, match="CUDA is not available"):
        decoder = JpegDecoder("cuda")
    assert decoder.device.type == "cpu"
    torch.testing.assert_close(decoder(jpegs), JpegDecoder("cpu")(jpegs), rtol=0, atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_decoding_matches_the_cpu(index_cache, index_release):
    jpegs = _some_jpegs(index_cache, index_release)
    on_gpu = JpegDecoder("cuda")(jpegs)
    assert on_gpu.is_cuda
    assert (on_gpu.cpu().int() - JpegDecoder("cpu")(jpegs).int()).abs().max() <= 2


def test_decoding_in_the_main_process_matches_the_workers(index_cache, index_release, processor):
    clip_ids = index_release.split_ids["train"]
    kwargs = dict(jitter=True, seed=3, image_mean=processor.image_mean, image_std=processor.image_std)
    decoded = FrameCacheLoader(index_cache["frames_dir"], **kwargs)({"clip_id": clip_ids})
    raw = FrameCacheLoader(index_cache["frames_dir"], **kwargs, decode=False)({"clip_id": clip_ids})
    assert "pixel_values_videos" not in raw and len(raw["jpeg_frames"][0]) == 20
    assert raw["frames_problem"] == decoded["frames_problem"] == ["", ""]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        decoder = JpegDecoder("cuda" if torch.cuda.is_available() else "cpu")
    from dataset_scripts.vidsitu.frame_cache import Normalizer

    on_device = decode_on_device(raw["jpeg_frames"], 4, decoder, Normalizer(processor.image_mean, processor.image_std))
    torch.testing.assert_close(on_device.cpu(), torch.stack(decoded["pixel_values_videos"]), rtol=0, atol=0.05)
    assert [m.tolist() for m in raw["event_mask"]] == [m.tolist() for m in decoded["event_mask"]]


# --- toy world --------------------------------------------------------------------------------------------------------
def test_cache_from_toy_world_videos(tmp_path):
    from dataset_scripts.toy_world import WorldConfig, build_world

    world = str(tmp_path / "world")
    config = WorldConfig(seed=5, num_pretrain_clips=4, pretrain_frames_per_event=1, num_train_clips=3,
                         num_valid_clips=2, num_benchmark_clips=2, num_workers=1)  # fmt: skip
    manifest = build_world(world, config, log=lambda message: None)
    vidsitu_dir = os.path.join(world, manifest["vidsitu"]["dir"])
    video_dir = os.path.join(world, manifest["vidsitu"]["video_dir"])
    clip_ids, counts = list_split_clip_ids(vidsitu_dir, ["train", "valid"])
    assert counts == {"train": 3, "valid": 2}
    processor = load_image_processor(size=64)
    loader = VidSituFrameLoader(video_dir=video_dir, image_transform=lambda frames: processor(
        images=list(frames), do_rescale=False, do_normalize=False, return_tensors="pt")["pixel_values"])
    decoded = torch.stack(loader({"clip_id": clip_ids})["pixel_values_videos"]).float()
    psnr = {}
    for chroma in ("4:2:0", "4:4:4"):
        out = str(tmp_path / chroma.replace(":", ""))
        built = build_frame_cache(out, clip_ids, video_dir=video_dir, processor=processor,
                                  chroma_subsampling=chroma, progress=False).manifest  # fmt: skip
        assert built.num_clips == 5 and built.skipped == {}
        cached = torch.stack(FrameCacheLoader(out)({"clip_id": clip_ids})["pixel_values_videos"]).float()
        psnr[chroma] = float(10 * torch.log10(255**2 / (cached - decoded).pow(2).mean()))
    # Cartoon frames with 1-pixel coloured trails (rendered as 4:4:4 H.264 on purpose): measured 34.0 dB with 4:2:0
    # JPEG (31.3 dB on the worst clip) and 37.1 dB with 4:4:4, so toy-world caches use --chroma_subsampling 4:4:4.
    assert psnr["4:4:4"] >= 35.0 and psnr["4:4:4"] > psnr["4:2:0"] + 2, psnr
    shutil.rmtree(world)
