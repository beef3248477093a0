"""Per-event frame sampling (S1–S4) from mp4 (PyAV) and JPEG folders, lazy decoding, and bad videos."""

import os
import pickle
import shutil
import threading

import av
import numpy as np
import pytest
import torch
from vidsitu_fixtures import decode_index, index_frames, write_bad_videos

from dataset_scripts.vidsitu import (
    VidSituFormatError,
    VidSituFrameLoader,
    event_sample_times,
    load_vidsitu,
    write_mp4,
    write_synthetic_release,
)
from dataset_scripts.vidsitu.frames import (
    check_video,
    decode_mp4_at,
    frame_numbers_at,
    probe_frame_folder,
    probe_mp4,
)
from dataset_scripts.vidsitu.synthetic import write_frame_folder

# 4 frames per event at the segment centres (0.25, 0.75, 1.25, 1.75 s into each event), 0-based 30 fps indices.
EXPECTED_INDICES = [
    [7, 22, 37, 52],
    [67, 82, 97, 112],
    [127, 142, 157, 172],
    [187, 202, 217, 232],
    [247, 262, 277, 292],
]


def _indices(frames):
    return [[decode_index(frame) for frame in event] for event in frames]


def test_sample_times_are_segment_centres():
    times = event_sample_times(4)
    assert times.shape == (5, 4)
    np.testing.assert_allclose(times[0], [0.25, 0.75, 1.25, 1.75])
    np.testing.assert_allclose(times[4], [8.25, 8.75, 9.25, 9.75])
    np.testing.assert_allclose(event_sample_times(1)[:, 0], [1, 3, 5, 7, 9])


def test_jittered_times_stay_in_their_segment():
    rng = np.random.default_rng(0)
    for _ in range(50):
        times = event_sample_times(4, jitter=True, rng=rng)
        segment = np.floor(times / 0.5).astype(int)  # 20 segments of 0.5 s
        assert (segment.reshape(-1) == np.arange(20)).all()
    with pytest.raises(ValueError):
        event_sample_times(0)


@pytest.mark.parametrize("source", ["video_dir", "frames_dir"])
def test_deterministic_frames_are_the_segment_centres(index_release, source):
    loader = VidSituFrameLoader(**{source: getattr(index_release, source)})
    frames, event_mask = loader.load(index_release.split_ids["train"][0])
    assert frames.shape == (5, 4, 32, 32, 3) and frames.dtype == np.uint8
    assert event_mask.all()
    assert _indices(frames) == EXPECTED_INDICES


def test_mp4_at_another_frame_rate(tmp_path):
    # Official clips keep the movie's frame rate (e.g. 24 fps): times map to the frame shown at that time.
    write_mp4(str(tmp_path / "v_clip24_seg_0_10.mp4"), index_frames("c", None, 240, 24, (32, 32)), fps=24)
    frames, event_mask = VidSituFrameLoader(video_dir=str(tmp_path)).load("v_clip24_seg_0_10")
    assert event_mask.all()
    assert _indices(frames)[0] == [6, 18, 30, 42]  # floor(t * 24) for t = 0.25, 0.75, 1.25, 1.75
    assert _indices(frames)[4][-1] == 234  # 9.75 s


def test_skipping_unneeded_b_frames_changes_nothing(tmp_path):
    # x264 with ffmpeg's defaults (as VidSitu's trimming) makes B-frames; texture in the bottom half makes sure.
    frames = index_frames("c", None, 300, 30, (64, 64))
    texture = np.random.default_rng(1).integers(0, 255, (364, 64, 3), dtype=np.uint8)
    for index in range(300):
        frames[index, 32:] = texture[index : index + 32]
    path = str(tmp_path / "v_bframes_seg_0_10.mp4")
    write_mp4(path, frames, codec_options={"preset": "medium", "crf": "16"})
    with av.open(path) as container:
        assert any(str(frame.pict_type) in ("3", "B") for frame in container.decode(video=0))
    rng = np.random.default_rng(0)
    for trial in range(20):
        times = event_sample_times(4, jitter=trial > 0, rng=rng).reshape(-1).tolist()
        skipped = decode_mp4_at(path, times, skip_nonref=True)
        full = decode_mp4_at(path, times, skip_nonref=False)
        for time, fast, slow in zip(times, skipped, full):
            np.testing.assert_array_equal(fast, slow)
            assert decode_index(fast[:32]) == int(np.floor(time * 30 + 1e-6))


@pytest.mark.parametrize("source", ["video_dir", "frames_dir"])
def test_jitter_is_reproducible_with_a_seed_and_stays_in_the_event(index_release, source):
    clip_id = index_release.split_ids["train"][0]
    first = VidSituFrameLoader(**{source: getattr(index_release, source)}, jitter=True, seed=1).load(clip_id)[0]
    again = VidSituFrameLoader(**{source: getattr(index_release, source)}, jitter=True, seed=1).load(clip_id)[0]
    other = VidSituFrameLoader(**{source: getattr(index_release, source)}, jitter=True, seed=2).load(clip_id)[0]
    np.testing.assert_array_equal(first, again)
    assert _indices(first) != _indices(other)
    for event, indices in enumerate(_indices(first)):
        for slot, index in enumerate(indices):  # inside the slot's 15-frame segment of the event's 60 frames
            assert event * 60 + slot * 15 <= index < event * 60 + (slot + 1) * 15


def test_seeded_jitter_depends_on_seed_epoch_and_clip_only(index_release):
    loader = VidSituFrameLoader(frames_dir=index_release.frames_dir, jitter=True, seed=5)
    first = loader.sample_times("v_a_seg_0_10")
    assert not np.array_equal(loader.sample_times("v_b_seg_0_10"), first)  # another clip
    np.testing.assert_array_equal(loader.sample_times("v_a_seg_0_10"), first)  # same clip, same epoch: same times
    clone = pickle.loads(pickle.dumps(loader))  # what a dataloader worker gets
    np.testing.assert_array_equal(clone.sample_times("v_a_seg_0_10"), first)
    loader.set_epoch(1)
    assert not np.array_equal(loader.sample_times("v_a_seg_0_10"), first)  # a new epoch draws new times


def test_unseeded_workers_do_not_share_the_jitter_state(index_release):
    loader = VidSituFrameLoader(frames_dir=index_release.frames_dir, jitter=True)
    loader.sample_times("v_a_seg_0_10")
    clone = pickle.loads(pickle.dumps(loader))
    assert clone._rng is None  # a worker gets a fresh generator


def test_a_forked_worker_makes_its_own_swscale_context(index_release):
    loader = VidSituFrameLoader(video_dir=index_release.video_dir)
    clip_id = index_release.split_ids["train"][0]
    first = loader.load(clip_id)[0]
    assert list(loader._reformatters) == [(os.getpid(), threading.get_ident())]
    parents = loader._reformatters[(os.getpid(), threading.get_ident())]
    # What a forked dataloader worker sees: its parent's contexts, under its parent's pid.
    loader._reformatters = {(-1, key[1]): value for key, value in loader._reformatters.items()}
    again = loader.load(clip_id)[0]
    assert loader._reformatters[(os.getpid(), threading.get_ident())] is not parents
    np.testing.assert_array_equal(first, again)
    assert pickle.loads(pickle.dumps(loader))._reformatters == {}  # a spawned worker starts with none


@pytest.mark.parametrize("source", ["video_dir", "frames_dir"])
def test_clip_threads_give_the_same_batch(index_release, source):
    clip_ids = index_release.split_ids["train"][:3]
    outputs = []
    for threads in (1, 3):
        loader = VidSituFrameLoader(**{source: getattr(index_release, source)}, jitter=True, seed=3,
                                    clip_threads=threads, image_transform=lambda frames: frames.astype(np.float32) / 255)
        outputs.append(loader({"clip_id": clip_ids}))
    for single, threaded in zip(outputs[0]["pixel_values_videos"], outputs[1]["pixel_values_videos"]):
        torch.testing.assert_close(single, threaded, rtol=0, atol=0)
    assert all(torch.equal(a, b) for a, b in zip(outputs[0]["event_mask"], outputs[1]["event_mask"]))


def test_clip_threads_keep_strict_and_lenient_errors(bad_videos):
    video_dir = bad_videos[0]
    clip_ids = ["v_good_seg_0_10", "v_corrupt_seg_0_10", "v_short_seg_0_10", "v_missing_seg_0_10"]
    with pytest.raises(VidSituFormatError, match="v_corrupt_seg_0_10"):  # the first bad clip in batch order
        VidSituFrameLoader(video_dir=video_dir, clip_threads=3)({"clip_id": clip_ids})
    masks = {}
    for threads in (1, 3):
        lenient = VidSituFrameLoader(video_dir=video_dir, clip_threads=threads, strict=False, frame_size=(8, 8))
        masks[threads] = [mask.tolist() for mask in lenient({"clip_id": clip_ids})["event_mask"]]
        assert dict(lenient.stats) == {"corrupt_video": 1, "short_video": 1, "missing_video": 1}
    assert masks[1] == masks[3]
    assert masks[3][0] == [True] * 5 and not any(masks[3][1]) and not any(masks[3][3]) and 0 < sum(masks[3][2]) < 5
    with pytest.raises(ValueError, match="clip_threads must be >= 1, got 0"):
        VidSituFrameLoader(video_dir=video_dir, clip_threads=0)


def test_frame_size_and_channels_first_tensor(release, cache_dir):
    dataset = load_vidsitu(release.root, "train", video_dir=release.video_dir, frame_size=(16, 24), cache_dir=cache_dir)
    row = dataset[0]
    assert row["pixel_values_videos"].shape == (5, 4, 3, 16, 24)
    assert row["pixel_values_videos"].dtype == torch.uint8
    assert row["event_mask"].dtype == torch.bool and row["event_mask"].all()
    assert len(row["events"]) == 5  # text columns pass through


def test_image_transform_hook(release, cache_dir):
    calls = []

    def transform(frames):
        calls.append(frames.shape)
        return torch.from_numpy(frames[:, ::2, ::2].transpose(0, 3, 1, 2).astype(np.float32) / 255)

    dataset = load_vidsitu(
        release.root, "valid", frames_dir=release.frames_dir, frames_per_event=2, image_transform=transform,
        cache_dir=cache_dir,
    )  # fmt: skip
    pixels = dataset[0]["pixel_values_videos"]
    assert calls == [(10, 32, 32, 3)]
    assert pixels.shape == (5, 2, 3, 16, 16) and pixels.dtype == torch.float32


def test_text_columns_never_decode(release, cache_dir, monkeypatch):
    dataset = load_vidsitu(release.root, "train", video_dir=release.video_dir, cache_dir=cache_dir,
                           negative_sampling="per_epoch")
    decoded = []
    original = VidSituFrameLoader._try_decode
    monkeypatch.setattr(VidSituFrameLoader, "_try_decode", lambda self, *args: decoded.append(args) or original(self, *args))
    # Reading (and iterating) one column reads that column: no video is decoded, stored values come back.
    assert list(dataset["clip_id"]) == release.split_ids["train"]
    assert [len(events) for events in dataset["events"]] == [5] * 6
    assert list(dataset.select([1, 0])["clip_id"]) == release.split_ids["train"][1::-1]
    assert decoded == []
    # Whole rows still get their frames.
    assert dataset[0]["pixel_values_videos"].shape[:2] == (5, 4) and len(decoded) == 1


def test_no_decoding_when_not_asked(release, cache_dir):
    dataset = load_vidsitu(release.root, "train", video_dir=release.video_dir, decode_frames=False, cache_dir=cache_dir)
    assert "pixel_values_videos" not in dataset[0]


def test_dataloader_batches(release, cache_dir):
    dataset = load_vidsitu(release.root, "train", video_dir=release.video_dir, jitter=True, cache_dir=cache_dir)

    def collate(rows):
        return {
            "pixel_values_videos": torch.stack([row["pixel_values_videos"] for row in rows]),
            "event_mask": torch.stack([row["event_mask"] for row in rows]),
            "prompts": [[event["prompt"] for event in row["events"]] for row in rows],
        }

    loader = torch.utils.data.DataLoader(dataset, batch_size=3, num_workers=2, collate_fn=collate)
    batches = list(loader)
    assert [batch["pixel_values_videos"].shape for batch in batches] == [(3, 5, 4, 3, 32, 32)] * 2
    assert all(len(batch["prompts"]) == 3 for batch in batches)


# --- bad videos -------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bad_videos(tmp_path_factory):
    """A mp4 folder and a frame folder with one good, one short (7 s), one corrupt and one missing clip."""
    return write_bad_videos(str(tmp_path_factory.mktemp("bad_videos")))


@pytest.mark.parametrize("source", ["video_dir", "frames_dir"])
def test_short_video(bad_videos, source):
    folder = bad_videos[0] if source == "video_dir" else bad_videos[1]
    with pytest.raises(VidSituFormatError) as info:
        VidSituFrameLoader(**{source: folder}).load("v_short_seg_0_10")
    assert info.value.reason == "short_video" and info.value.event == "Ev4" and info.value.field == "frames"
    assert "v_short_seg_0_10" in str(info.value)

    loader = VidSituFrameLoader(**{source: folder}, strict=False)
    frames, event_mask = loader.load("v_short_seg_0_10")
    # 7 s: Ev4's last sample (7.75 s) is past the end + 1/3 s tolerance; Ev5 entirely. Ev4's 7.25 s sample uses the
    # last frame (within the tolerance), but the event is still incomplete.
    assert event_mask.tolist() == [True, True, True, False, False]
    assert (frames[3:] == 0).all() and _indices(frames[:3]) == EXPECTED_INDICES[:3]
    assert loader.stats == {"short_video": 1}


def test_within_tolerance_uses_the_last_frame(tmp_path):
    frames_dir = str(tmp_path)
    write_frame_folder(frames_dir, "v_290_seg_0_10", index_frames("c", None, 290, 30, (16, 16)))
    frames, event_mask = VidSituFrameLoader(frames_dir=frames_dir).load("v_290_seg_0_10")  # official minimum: 290
    assert event_mask.all() and _indices(frames)[4] == [247, 262, 277, 289]
    assert frame_numbers_at([9.75], set(range(1, 283)))[0] is None  # 9.75 s > 282/30 + 1/3


@pytest.mark.parametrize("source", ["video_dir", "frames_dir"])
def test_corrupt_video(bad_videos, source):
    folder = bad_videos[0] if source == "video_dir" else bad_videos[1]
    with pytest.raises(VidSituFormatError) as info:
        VidSituFrameLoader(**{source: folder}).load("v_corrupt_seg_0_10")
    assert info.value.reason == "corrupt_video" and "v_corrupt_seg_0_10" in str(info.value)
    loader = VidSituFrameLoader(**{source: folder}, strict=False, frame_size=(8, 8))
    frames, event_mask = loader.load("v_corrupt_seg_0_10")
    assert not event_mask.any() and frames.shape == (5, 4, 8, 8, 3) and loader.stats == {"corrupt_video": 1}


@pytest.mark.parametrize("source", ["video_dir", "frames_dir"])
def test_missing_video(bad_videos, source):
    folder = bad_videos[0] if source == "video_dir" else bad_videos[1]
    with pytest.raises(VidSituFormatError) as info:
        VidSituFrameLoader(**{source: folder}).load("v_missing_seg_0_10")
    assert info.value.reason == "missing_video"
    loader = VidSituFrameLoader(**{source: folder}, strict=False)
    loader.load("v_good_seg_0_10")
    frames, event_mask = loader.load("v_missing_seg_0_10")
    assert not event_mask.any() and frames.shape == (5, 4, 32, 32, 3)  # the size of the last good clip


def test_probes(bad_videos):
    video_dir, frames_dir = bad_videos
    assert probe_mp4(os.path.join(video_dir, "v_good_seg_0_10.mp4")) == pytest.approx(10.0, abs=0.05)
    assert probe_frame_folder(frames_dir, "v_good_seg_0_10") == 300
    for clip_id, reason in [("v_short_seg_0_10", "short_video"), ("v_corrupt_seg_0_10", "corrupt_video")]:
        for kwargs in ({"video_dir": video_dir}, {"frames_dir": frames_dir}):
            if kwargs.get("frames_dir") and reason == "corrupt_video":
                continue  # that folder's first and last frames are fine; its 8th is caught when decoded
            with pytest.raises(VidSituFormatError) as info:
                check_video(clip_id, probe=True, **kwargs)
            assert info.value.reason == reason
            check_video(clip_id, probe=False, **kwargs)  # exists: fine without probing
    with pytest.raises(VidSituFormatError):
        check_video("v_missing_seg_0_10", video_dir=video_dir)


# --- prepare-time video checks through the builder --------------------------------------------------------------------
def _small_release(tmp_path, video):
    return write_synthetic_release(
        str(tmp_path / "small"), num_train=6, num_valid=3, num_test=0, video=video, size=(16, 16)
    )


@pytest.mark.parametrize("source", ["videos", "frames"])
def test_builder_checks_videos_exist(tmp_path, cache_dir, source):
    release = _small_release(tmp_path, "mp4" if source == "videos" else "frames")
    root = release.root
    clip_id = release.split_ids["train"][1]
    folder = os.path.join(root, source)
    target = os.path.join(folder, clip_id + (".mp4" if source == "videos" else ""))
    shutil.rmtree(target) if os.path.isdir(target) else os.remove(target)
    option = {"video_dir": folder} if source == "videos" else {"frames_dir": folder}
    with pytest.raises(VidSituFormatError) as info:
        load_vidsitu(root, "train", cache_dir=cache_dir, **option)
    assert info.value.reason == "missing_video" and info.value.clip_id == clip_id
    dataset, summary = load_vidsitu(root, "train", strict=False, cache_dir=cache_dir, return_summary=True, **option)
    assert clip_id not in dataset["clip_id"] and len(dataset) == 5
    assert summary["skipped_clips"] == {"missing_video": 1}


def test_builder_probe_finds_short_videos(tmp_path, cache_dir):
    release = _small_release(tmp_path, "mp4")
    root = release.root
    clip_id = release.split_ids["valid"][0]
    write_mp4(os.path.join(root, "videos", clip_id + ".mp4"), index_frames("c", None, 150, 30, (32, 32)))
    video_dir = os.path.join(root, "videos")
    load_vidsitu(root, "valid", video_dir=video_dir, cache_dir=cache_dir)  # exists: fine without probing
    with pytest.raises(VidSituFormatError, match="short_video"):
        load_vidsitu(root, "valid", video_dir=video_dir, probe_videos=True, cache_dir=cache_dir)
    dataset, summary = load_vidsitu(
        root, "valid", video_dir=video_dir, probe_videos=True, strict=False, cache_dir=cache_dir, return_summary=True
    )
    assert len(dataset) == 2 and summary["skipped_clips"] == {"short_video": 1}
