"""Data and helpers shared by the VidSitu tests: the real-looking records quoted in
/work/shared/research/data_formats.md §1.4 and paper.md §2.1, and an index-encoding frame renderer.

(A uniquely named module rather than `conftest`, which `tests/conftest.py` already is on sys.path.)
"""

import copy
import os

import numpy as np

# data_formats.md §1.4: train[0] as printed in LUNAProject22/CLIPSitu-video (trimmed to Ev1 and Ev3 there).
REAL_EV1 = {
    "vid_uid": "M3u94uEBq9o5",
    "vid_seg_int": "v_M3u94uEBq9o_seg_80_90",
    "EvRel": "Causes",
    "Args": {"Arg1 (thing falling)": "man in wetsuit", "ArgM (direction)": "downward", "Scene of the Event": "lake"},
    "Arg_List": {"Arg1 (thing falling)": "0", "ArgM (direction)": "1", "Scene of the Event": "2"},
    "Verb": "dive (to drop)",
    "VerbID": "dive.02",
}
REAL_EV3 = {
    "vid_uid": "M3u94uEBq9o5",
    "vid_seg_int": "v_M3u94uEBq9o_seg_80_90",
    "Args": {
        "Arg0 (talker)": "brunette girl",
        "Arg2 (hearer)": "brunette boy",
        "ArgM (location)": "lake",
        "ArgM (manner)": "casually",
    },
    "Arg_List": {"Arg0 (talker)": "0", "Arg2 (hearer)": "1", "ArgM (location)": "2", "ArgM (manner)": "3"},
    "Verb": "talk (speak)",
    "VerbID": "talk.01",
}
# paper.md §2.1: the one verbatim prompt, with the VidSitu keys it implies.
PAPER_EVENT = {
    "vid_seg_int": "v_M3u94uEBq9o_seg_80_90",
    "Args": {
        "Arg0 (walker)": "man with short hair wearing collared shirt",
        "ArgM (direction)": "forward",
        "ArgM (manner)": "slowly",
        "Scene of the Event": "apartment",
    },
    "Arg_List": {"Arg0 (walker)": "0", "ArgM (direction)": "1", "ArgM (manner)": "2", "Scene of the Event": "3"},
    "Verb": "walk (go)",
    "VerbID": "walk.01",
    "EvRel": "Enables",
}
PAPER_PROMPT = (
    "In this photo, the action is walk where, the walker is man with short hair wearing collared shirt, "
    "direction is forward, manner is slowly, and scene of the event is apartment."
)


def real_event(verb, verb_id, args, evrel="NoRel", clip_id="v_M3u94uEBq9o_seg_80_90"):
    """A raw event with the given Verb and Args (Arg_List in the given order)."""
    event = {
        "vid_uid": "M3u94uEBq9o5",
        "vid_seg_int": clip_id,
        "Args": dict(args),
        "Arg_List": {key: str(position) for position, (key, _) in enumerate(args)},
        "Verb": verb,
        "VerbID": verb_id,
    }
    if evrel is not None:
        event["EvRel"] = evrel
    return event


# Five real-looking events built from the strings of data_formats.md §1.4 (verbs, role keys and messy values).
REAL_LOOKING_EVENTS = [
    copy.deepcopy(REAL_EV1),
    real_event(
        "flip (throw, turn over)",
        "flip.01",
        [
            ("Arg0 (flipper, agent)", "man in wetsuit"),
            ("Arg1 (thing flipped)", "on the handly"),
            ("Scene of the Event", "lake"),
        ],
        evrel="Enables",
    ),
    copy.deepcopy(REAL_EV3),
    real_event(
        "strike (hit)",
        "strike.01",
        [
            ("Arg0 (agent, hitter - animate only!)", "brunette girl"),
            ("Arg1 (thing hit)", "the man with brown hair's leg"),
            ("Arg2 (instrument, thing hit by or with)", "bat"),
            ("ArgM (manner)", "angrily"),
        ],
        evrel="Reaction To",
    ),
    real_event(
        "pull ((try to) cause motion)",
        "pull.01",
        [
            ("Arg0 (puller)", "brunette  boy"),
            ("Arg1 (thing pulled)", "brunette girl"),
            ("Arg2 (DIR or attribute of arg1)", "out of the lake"),
            ("Scene of the Event", "lake"),
        ],
        evrel="Causes",
    ),
]


def real_annotation():
    """A full 5-event annotation of the real-looking events (Ev3 without EvRel, as in the release)."""
    annotation = {f"Ev{k + 1}": copy.deepcopy(event) for k, event in enumerate(REAL_LOOKING_EVENTS)}
    annotation["Ev3"].pop("EvRel", None)
    return annotation


def index_frames(clip_id, annotation, num_frames, fps, size):
    """Frames whose flat colour encodes their index: red = 8 * (i % 30), green = 24 * (i // 30)."""
    index = np.arange(num_frames)
    frames = np.zeros((num_frames, size[0], size[1], 3), np.uint8)
    frames[..., 0] = ((index % 30) * 8)[:, None, None]
    frames[..., 1] = ((index // 30) * 24)[:, None, None]
    return frames


def decode_index(frame):
    """Inverse of `index_frames` for one decoded (lossy) frame, channels last."""
    red, green = frame[..., 0].astype(float).mean(), frame[..., 1].astype(float).mean()
    return int(round(green / 24)) * 30 + int(round(red / 8))


def write_bad_videos(root):
    """Under `root`: an mp4 folder and a frame folder, each with one good clip, one short (7 s), one corrupt and one
    missing (``v_{good,short,corrupt,missing}_seg_0_10``). Returns ``(video_dir, frames_dir)``."""
    from dataset_scripts.vidsitu import write_mp4
    from dataset_scripts.vidsitu.synthetic import write_frame_folder

    video_dir, frames_dir = os.path.join(root, "videos"), os.path.join(root, "frames")
    good, short = index_frames("c", None, 300, 30, (32, 32)), index_frames("c", None, 210, 30, (32, 32))
    write_mp4(os.path.join(video_dir, "v_good_seg_0_10.mp4"), good)
    write_mp4(os.path.join(video_dir, "v_short_seg_0_10.mp4"), short)
    with open(os.path.join(video_dir, "v_corrupt_seg_0_10.mp4"), "wb") as handle:
        handle.write(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    write_frame_folder(frames_dir, "v_good_seg_0_10", good)
    write_frame_folder(frames_dir, "v_short_seg_0_10", short)
    write_frame_folder(frames_dir, "v_corrupt_seg_0_10", good)
    with open(os.path.join(frames_dir, "v_corrupt_seg_0_10", "v_corrupt_seg_0_10_000008.jpg"), "wb") as handle:
        handle.write(b"not a jpeg")
    return video_dir, frames_dir
