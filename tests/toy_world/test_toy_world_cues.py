"""Single-frame cues: what the image benchmarks ask must be decidable from ONE rendered frame."""

import numpy as np
import pytest

from dataset_scripts.toy_world.grammar import ClipSpec, Entity, EventSpec
from dataset_scripts.toy_world.motion import event_motion
from dataset_scripts.toy_world.render import render_clip, scene_background

RED_CIRCLE = Entity("circle", "red", "big")
BLUE_SQUARE = Entity("square", "blue", "small")
UNIT = {"left": (-1, 0), "right": (1, 0)}


def _clip(verb_id, participants, modifiers=(), layout_seed=0):
    """A 5-event clip on snow (a near-white scene, so colours are easy to find) repeating one event."""
    events = tuple(EventSpec(verb_id, participants, tuple(modifiers), None if k == 2 else "NoRel", layout_seed + k)
                   for k in range(5))
    return ClipSpec("v_cuetest0000_seg_0_10", "cuetest0000", 0, (RED_CIRCLE, BLUE_SQUARE), "snow", events, 0)


def _marks(clip, tau=45):
    """(x, y) of pixels that differ from the bare scene outside every body: the motion marks (ink) of one frame."""
    frame = render_clip(clip, [tau])[0].astype(int)
    background = scene_background(clip.scene, clip.scene_seed)
    changed = np.abs(frame - background).sum(axis=-1) > 60
    ys, xs = np.mgrid[0:64, 0:64]
    for index, track in enumerate(event_motion(clip, clip.events[0]).tracks):
        x, y, scale, _ = track.at(tau)
        changed &= np.hypot(xs + 0.5 - x, ys + 0.5 - y) > clip.cast[index].radius * scale * 1.3 + 1.0
    return np.argwhere(changed)[:, ::-1] + 0.5


@pytest.mark.parametrize("direction", ["left", "right"])
@pytest.mark.parametrize("manner", ["slowly", "quickly"])
def test_motion_direction_is_visible_in_one_frame(direction, manner):
    """The speed lines lie behind the body: the ink near the mover is offset against the direction of motion."""
    for seed in range(3):
        clip = _clip("move.01", (0,), [("direction", direction), ("manner", manner)], layout_seed=10 * seed)
        x, y, _, _ = event_motion(clip, clip.events[0]).tracks[0].at(45)
        marks = _marks(clip)
        assert len(marks) > 5
        offset = marks.mean(axis=0) - (x, y)
        assert float(np.dot(offset, UNIT[direction])) < -RED_CIRCLE.radius, (direction, manner, offset)


def test_mover_and_bystander_are_told_apart():
    """Only the participant has speed lines: there is ink next to the mover and none next to the bystander."""
    def marks_near_red(participants):
        clip = _clip("move.01", participants, [("direction", "right"), ("manner", "quickly")])
        x, y, _, _ = event_motion(clip, clip.events[0]).tracks[0].at(45)
        marks = _marks(clip)
        return int((np.hypot(marks[:, 0] - x, marks[:, 1] - y) < RED_CIRCLE.radius + 12).sum())

    assert marks_near_red((0,)) > 10 * max(1, marks_near_red((1,)))


def test_grow_and_shrink_are_told_apart():
    """Growing leaves dark outlines of its smaller past inside the body; shrinking a halo of its larger past outside."""
    def ring_pixels(verb_id):
        clip = _clip(verb_id, (0,))
        frame = render_clip(clip, [45])[0].astype(int)
        x, y, scale, _ = event_motion(clip, clip.events[0]).tracks[0].at(45)
        radius = RED_CIRCLE.radius * scale
        ys, xs = np.mgrid[0:64, 0:64]
        distance = np.hypot(xs + 0.5 - x, ys + 0.5 - y)
        brightness = frame.sum(axis=-1)
        inside_dark = int(((brightness < 200) & (distance < radius - 1)).sum())
        outside_tint = int(((brightness < 600) & (distance > radius + 1.5) & (distance < radius + 6)).sum())
        return inside_dark, outside_tint

    grow, shrink = ring_pixels("grow.01"), ring_pixels("shrink.01")
    assert grow[0] > shrink[0] + 20  # dark rings inside
    assert shrink[1] > grow[1]  # halo outside


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
