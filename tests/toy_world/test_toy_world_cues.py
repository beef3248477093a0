"""Single-frame cues: what the image benchmarks ask must be decidable from ONE rendered frame, and every cue must be
drawn at a fixed place in a 16-px cell of the board (the base CLIP's patch grid)."""

import numpy as np
import pytest

from dataset_scripts.toy_world import render
from dataset_scripts.toy_world.grammar import VERBS, ClipSpec, Entity, EventSpec
from dataset_scripts.toy_world.motion import CELL, EVENT_FRAMES, SPEED_LINES, event_motion
from dataset_scripts.toy_world.render import render_clip, scene_background

RED_CIRCLE = Entity("circle", "red", "big")
BLUE_SQUARE = Entity("square", "blue", "small")
UNIT = {"left": (-1, 0), "right": (1, 0)}


def _clip(verb_id, participants, modifiers=(), layout_seed=0, scene="snow"):
    """A 5-event clip (snow by default: a near-white scene, so colours are easy to find) repeating one event."""
    events = tuple(EventSpec(verb_id, participants, tuple(modifiers), None if k == 2 else "NoRel", layout_seed + k)
                   for k in range(5))
    return ClipSpec("v_cuetest0000_seg_0_10", "cuetest0000", 0, (RED_CIRCLE, BLUE_SQUARE), scene, events, 0)


def _modifiers(verb_id, direction="right", manner="quickly"):
    chosen = {"direction": direction, "manner": manner}
    values = dict(VERBS[verb_id].modifiers)
    return [(name, chosen[name] if chosen[name] in values[name] else values[name][0]) for name in values]


def _events():
    """Every verb with every role order and modifier value, on several layouts."""
    for verb_id, verb in VERBS.items():
        orders = [(0, 1), (1, 0)] if verb.transitive else [(0,), (1,)]
        for order in orders:
            for direction in ("left", "right", "clockwise", "counterclockwise"):
                for manner in ("slowly", "quickly"):
                    for seed in range(3):
                        yield _clip(verb_id, order, _modifiers(verb_id, direction, manner), layout_seed=100 * seed)


def _marks(clip, tau=45):
    """(x, y) of pixels that differ from the bare scene outside every body: the marks (ink) of one frame."""
    frame = render_clip(clip, [tau])[0].astype(int)
    background = scene_background(clip.scene, clip.scene_seed)
    changed = np.abs(frame - background).sum(axis=-1) > 60
    ys, xs = np.mgrid[0:64, 0:64]
    for index, track in enumerate(event_motion(clip, clip.events[0]).tracks):
        x, y, scale, _ = track.at(tau)
        changed &= np.hypot(xs + 0.5 - x, ys + 0.5 - y) > clip.cast[index].radius * scale * 1.3 + 1.0
    return np.argwhere(changed)[:, ::-1] + 0.5


def test_bodies_stand_on_the_board():
    """Bodies move in whole cells and stand at one of a few fixed places inside their cell, so a cue is always the
    same pixels in a patch; every body (and a mover's lines) stays inside the canvas."""
    offsets_x, offsets_y = set(), set()
    for clip in _events():
        motion = event_motion(clip, clip.events[0])
        for index, track in enumerate(motion.tracks):
            ground = np.array([track.ground(tau) for tau in range(EVENT_FRAMES)])
            for axis, offsets in ((0, offsets_x), (1, offsets_y)):
                steps = np.diff(ground[:, axis])
                assert set(np.round(np.abs(steps[steps != 0]), 6)) <= {CELL}, (clip.events[0], axis)
                offsets.update(np.round(ground[:, axis] % CELL, 3))
            radius = clip.cast[index].radius
            assert ground.min() >= radius - 0.5 and ground.max() <= 64 - radius + 0.5
    # centre, mover (and its mirror), jumper's ground, and the four contact places of push (2 sizes x 2 sides)
    assert len(offsets_x) <= 7 and len(offsets_y) <= 2, (offsets_x, offsets_y)


def test_same_cue_gives_the_same_patch_pixels(monkeypatch):
    """On a flat scene, a mover's cell looks exactly the same wherever on the board the mover is."""
    monkeypatch.setattr(render, "scene_background", lambda scene, seed: np.full((64, 64, 3), 128.0, np.float32))
    patches = set()
    for seed in range(12):
        clip = _clip("move.01", (0,), [("direction", "right"), ("manner", "quickly")], layout_seed=seed)
        track = event_motion(clip, clip.events[0]).tracks[0]
        frame = render_clip(clip, [45])[0]
        column, row = track.cell(45)
        patches.add(frame[row * CELL:(row + 1) * CELL, column * CELL:(column + 1) * CELL].tobytes())
    assert len(patches) == 1


@pytest.mark.parametrize("direction", ["left", "right"])
@pytest.mark.parametrize("manner", ["slowly", "quickly"])
def test_motion_direction_is_visible_in_one_frame(direction, manner):
    """The speed lines lie behind the body: the ink near the mover is offset against the direction of motion."""
    for seed in range(3):
        clip = _clip("move.01", (0,), [("direction", direction), ("manner", manner)], layout_seed=10 * seed)
        x, y, _, _ = event_motion(clip, clip.events[0]).tracks[0].at(45)
        marks = _marks(clip)
        assert len(marks) > 3
        offset = marks.mean(axis=0) - (x, y)
        assert float(np.dot(offset, UNIT[direction])) < -RED_CIRCLE.radius, (direction, manner, offset)


def test_speed_is_the_number_of_speed_lines():
    """Quick movers trail three lines, slow ones one: count the ink rows behind the body."""
    for manner, speed in (("quickly", "quick"), ("slowly", "slow")):
        clip = _clip("move.01", (0,), [("direction", "right"), ("manner", manner)])
        rows = {int(y) for _, y in _marks(clip)}
        groups = len([r for r in sorted(rows) if r - 1 not in rows])  # runs of consecutive ink rows
        assert groups == SPEED_LINES[speed], (manner, sorted(rows))


def test_mover_and_bystander_are_told_apart():
    """Only the participant has speed lines: there is ink next to the mover and none next to the bystander."""
    def marks_near_red(participants):
        clip = _clip("move.01", participants, [("direction", "right"), ("manner", "quickly")])
        x, y, _, _ = event_motion(clip, clip.events[0]).tracks[0].at(45)
        marks = _marks(clip)
        return int((np.hypot(marks[:, 0] - x, marks[:, 1] - y) < RED_CIRCLE.radius + 8).sum())

    assert marks_near_red((0,)) > 10 * max(1, marks_near_red((1,)))


def test_jumper_casts_a_shadow():
    """A jumper has a shadow on the ground under it; a mover at the same speed has none."""
    def ink_below(verb_id):
        clip = _clip(verb_id, (0,), [("direction", "right"), ("manner", "quickly")])
        track = event_motion(clip, clip.events[0]).tracks[0]
        x, ground_y = track.ground(45)
        marks = _marks(clip)
        below = (np.abs(marks[:, 0] - x) < RED_CIRCLE.radius) & (marks[:, 1] > ground_y + RED_CIRCLE.radius - 0.5)
        return int(below.sum())

    assert ink_below("jump.01") >= 4 and ink_below("move.01") == 0


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
        outside_tint = int(((brightness < 400) & (distance > radius + 2) & (distance < radius + 4)).sum())
        return inside_dark, outside_tint

    grow, shrink = ring_pixels("grow.01"), ring_pixels("shrink.01")
    assert grow[0] > shrink[0] + 10  # dark rings inside
    assert shrink[1] > grow[1]  # halo outside


@pytest.mark.parametrize("direction", ["clockwise", "counterclockwise"])
def test_spin_arc_fades_towards_its_start(direction):
    """The spin arc is darkest where the body faces now, so clockwise and counterclockwise arcs differ."""
    other = "counterclockwise" if direction == "clockwise" else "clockwise"
    first = render_clip(_clip("spin.01", (0,), [("direction", direction), ("manner", "quickly")]), [45])[0]
    second = render_clip(_clip("spin.01", (0,), [("direction", other), ("manner", "quickly")]), [45])[0]
    assert np.abs(first.astype(int) - second).sum(axis=-1).max() > 100


@pytest.mark.parametrize("verb_id", ["chase.01", "follow.01", "push.01", "pull.01", "approach.01", "flee.01"])
def test_swapping_roles_changes_the_frame(verb_id):
    """Role-swapped events render differently (who is behind / in front / moving is drawn)."""
    modifiers = [("direction", "right")]
    a = render_clip(_clip(verb_id, (0, 1), modifiers), [45])[0]
    b = render_clip(_clip(verb_id, (1, 0), modifiers), [45])[0]
    assert np.abs(a.astype(int) - b).mean() > 1.0


@pytest.mark.parametrize("direction", ["left", "right"])
def test_chaser_is_behind_and_pusher_touches(direction):
    sign = UNIT[direction][0]
    chase = event_motion(*(lambda c: (c, c.events[0]))(_clip("chase.01", (0, 1), [("direction", direction)])))
    push = event_motion(*(lambda c: (c, c.events[0]))(_clip("push.01", (0, 1), [("direction", direction)])))
    for tau in (0, 30, 59):
        assert sign * (chase.tracks[0].at(tau)[0] - chase.tracks[1].at(tau)[0]) < 0  # the chaser trails the chased
        gap = abs(push.tracks[0].at(tau)[0] - push.tracks[1].at(tau)[0]) - RED_CIRCLE.radius - BLUE_SQUARE.radius
        assert abs(gap) < 1.0  # the pusher touches the pushed
