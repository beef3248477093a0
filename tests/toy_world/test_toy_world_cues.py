"""Single-frame cues: what the image benchmarks ask must be decidable from ONE rendered frame."""

import numpy as np
import pytest

from dataset_scripts.toy_world.grammar import ClipSpec, Entity, EventSpec
from dataset_scripts.toy_world.motion import event_motion
from dataset_scripts.toy_world.render import render_clip

RED_CIRCLE = Entity("circle", "red", "big")
BLUE_SQUARE = Entity("square", "blue", "small")
UNIT = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def _clip(verb_id, participants, modifiers=(), layout_seed=0):
    """A 5-event clip on snow (a near-white scene, so colours are easy to find) repeating one event."""
    events = tuple(EventSpec(verb_id, participants, tuple(modifiers), None if k == 2 else "NoRel", layout_seed + k)
                   for k in range(5))
    return ClipSpec("v_cuetest0000_seg_0_10", "cuetest0000", 0, (RED_CIRCLE, BLUE_SQUARE), "snow", events, 0)


def _red_pixels(frame):
    rgb = frame.astype(int)
    return np.argwhere(rgb[..., 0] - np.maximum(rgb[..., 1], rgb[..., 2]) > 30)[:, ::-1]  # (x, y)


@pytest.mark.parametrize("direction", ["left", "right", "up", "down"])
@pytest.mark.parametrize("manner", ["slowly", "quickly"])
def test_motion_direction_is_visible_in_one_frame(direction, manner):
    """The trail lies behind the body: the red pixels' centroid is offset against the direction of motion."""
    for seed in range(3):
        clip = _clip("move.01", (0,), [("direction", direction), ("manner", manner)], layout_seed=10 * seed)
        frame = render_clip(clip, [45])[0]
        x, y, _, _ = event_motion(clip, clip.events[0]).tracks[0].at(45)
        offset = _red_pixels(frame).mean(axis=0) - (x - 0.5, y - 0.5)
        assert float(np.dot(offset, UNIT[direction])) < -0.4, (direction, manner, offset)


def test_mover_and_bystander_are_told_apart():
    """Only the participant leaves a trail: the mover's colour covers more pixels than its body alone."""
    moving = render_clip(_clip("move.01", (0,), [("direction", "right"), ("manner", "quickly")]), [45])[0]
    standing = render_clip(_clip("move.01", (1,), [("direction", "right"), ("manner", "quickly")]), [45])[0]
    assert len(_red_pixels(moving)) > 1.3 * len(_red_pixels(standing))


def test_grow_and_shrink_are_told_apart():
    """Shrinking leaves ghost rings outside the body, growing inside it."""
    def dark_ring_pixels_outside(verb_id):
        clip = _clip(verb_id, (0,))
        frame = render_clip(clip, [45])[0].astype(int)
        x, y, scale, _ = event_motion(clip, clip.events[0]).tracks[0].at(45)
        radius = RED_CIRCLE.radius * scale
        ys, xs = np.mgrid[0:64, 0:64]
        distance = np.hypot(xs + 0.5 - x, ys + 0.5 - y)
        tinted = frame.sum(axis=-1) < 600  # anything clearly darker than snow
        return int((tinted & (distance > radius + 1.5)).sum())

    assert dark_ring_pixels_outside("shrink.01") > dark_ring_pixels_outside("grow.01") + 10


@pytest.mark.parametrize("verb_id", ["chase.01", "follow.01", "push.01", "pull.01", "approach.01", "flee.01"])
def test_swapping_roles_changes_the_frame(verb_id):
    """Role-swapped events render differently (who is behind / in front / moving is drawn)."""
    modifiers = [("direction", "right")]
    a = render_clip(_clip(verb_id, (0, 1), modifiers), [45])[0]
    b = render_clip(_clip(verb_id, (1, 0), modifiers), [45])[0]
    assert np.abs(a.astype(int) - b).mean() > 1.0


def test_chaser_is_behind():
    clip = _clip("chase.01", (0, 1), [("direction", "right")])
    tracks = event_motion(clip, clip.events[0]).tracks
    for tau in (0, 30, 59):
        assert tracks[0].at(tau)[0] < tracks[1].at(tau)[0]  # the chaser (red) trails the chased (blue)
