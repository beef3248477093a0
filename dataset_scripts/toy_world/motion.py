"""Where every cast member is, frame by frame, during one event: the meaning of each verb as motion.

Each event is a new "shot" of 60 frames (2 s at 30 fps). Tracks are computed for local frames
``tau = -HISTORY_FRAMES … 59``: the negative part is the motion *before* the shot starts, so that every frame of the
event, the first included, already shows a complete motion trail (see `render`). Bodies stay inside the canvas
during the event (``tau >= 0``); the oldest part of a trail may be cut off by the frame edge, as in a real shot.

Translational verbs are defined once for motion along +s in a canonical frame ``(s, u)`` and then mapped to the
image for each direction (right, left, down, up), so "left" and "right" are exact mirror images of each other.
Speeds are in pixels per frame on the 64×64 canvas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .grammar import ClipSpec, EventSpec

CANVAS = 64
FPS = 30
EVENT_FRAMES = 60
#: A moving body drags a motion streak over where it was during the last `STREAK_FRAMES` frames (2 s: long
#: enough that even a slow body's streak shows beyond its own outline).
STREAK_FRAMES = 60
#: In-place changes (grow, shrink) leave ghost outlines of the size they had 12, 24 and 36 frames ago.
IN_PLACE_LAG = 12
TRAIL_GHOSTS = 3
HISTORY_FRAMES = max(STREAK_FRAMES, IN_PLACE_LAG * TRAIL_GHOSTS)
MARGIN = 1.0  # pixels kept free between a body and the canvas edge

QUICK, MEDIUM, SLOW = 0.37, 0.27, 0.2
CHASER_SPEED, CHASED_SPEED = 0.37, 0.27
APPROACH_SPEED = 0.30
JUMP_DRIFT = {"quickly": 0.15, "slowly": 0.06}
JUMP_PERIOD = {"quickly": 20.0, "slowly": 32.0}
JUMP_HEIGHT = 11.0
SPIN_RATE = {"quickly": 0.20, "slowly": 0.08}  # radians per frame
GROW_SCALES = (0.55, 1.3)  # scale at the start of the history and at the end of the event
PULL_ROPE = 8.0
FOLLOW_GAP = 9.0
CHASE_END_GAP = 3.0


@dataclass
class Track:
    """One entity over local frames ``tau = -HISTORY_FRAMES … EVENT_FRAMES - 1`` (index ``tau + HISTORY_FRAMES``).

    Attributes:
        x, y: body centre in pixels.
        scale: factor on the entity's radius (1 except while growing/shrinking).
        heading: the direction the entity faces (radians, image coordinates: 0 = +x, pi/2 = +y = down); bodies are
            drawn rotated by it and carry an "eye" on that side.
        moving: the body changes place (translational verbs): it drags a motion streak.
        in_place: the body changes in place (spin, grow, shrink): its recent states are marked on top of it.
    """

    x: np.ndarray
    y: np.ndarray
    scale: np.ndarray
    heading: np.ndarray
    moving: bool = False
    in_place: bool = False

    @property
    def still(self) -> bool:
        return not self.moving and not self.in_place

    def at(self, tau: int) -> tuple[float, float, float, float]:
        index = tau + HISTORY_FRAMES
        return float(self.x[index]), float(self.y[index]), float(self.scale[index]), float(self.heading[index])


@dataclass
class EventMotion:
    """The tracks of every cast member during one event, plus the rope of ``pull`` (cast indices, or None)."""

    tracks: list[Track]
    rope: tuple[int, int] | None = None


TAU = np.arange(-HISTORY_FRAMES, EVENT_FRAMES, dtype=np.float64)


def _const(value: float) -> np.ndarray:
    return np.full_like(TAU, value)


def _to_image(s: np.ndarray, u: np.ndarray, heading: np.ndarray, direction: str):
    """Map canonical (+s) coordinates to the image for a direction (all four are rigid mirrors/rotations)."""
    if direction == "right":
        return s, u, heading
    if direction == "left":
        return CANVAS - s, u, math.pi - heading
    if direction == "down":
        return u, s, math.pi / 2 - heading
    if direction == "up":
        return u, CANVAS - s, heading - math.pi / 2
    raise ValueError(f"unknown direction {direction!r}")


def _fit_offset(lows: list[np.ndarray], highs: list[np.ndarray], rng: np.random.Generator) -> float:
    """A uniformly drawn shift that keeps every extent inside the canvas (centred if nothing fits)."""
    low = min(float(v.min()) for v in lows)
    high = max(float(v.max()) for v in highs)
    first, last = MARGIN - low, CANVAS - MARGIN - high
    return float(rng.uniform(first, last)) if last > first else (first + last) / 2


EVENT = slice(HISTORY_FRAMES, None)  # the frames of the event itself (tau >= 0): bodies must be inside the canvas


def _linear_event(event: EventSpec, radii: list[float], rng: np.random.Generator) -> EventMotion:
    """Transitive verbs and ``move``/``jump``: canonical +s motion, fitted to the canvas, mapped to the image."""
    verb = event.verb_id
    direction = event.modifier("direction")
    manner = event.modifier("manner")
    zero = np.zeros_like(TAU)
    # canonical s, u and whether it moves, per participant (0 = first role, 1 = second role)
    if verb == "move.01":
        speed = QUICK if manner == "quickly" else SLOW
        parts = [(speed * TAU, zero, True)]
    elif verb == "jump.01":
        s = JUMP_DRIFT[manner] * TAU
        u = -JUMP_HEIGHT * np.abs(np.sin(math.pi * TAU / JUMP_PERIOD[manner]))
        parts = [(s, u, True)]
    else:
        r0, r1 = radii[event.participants[0]], radii[event.participants[1]]
        if verb == "chase.01":
            s1 = CHASED_SPEED * TAU
            gap = CHASE_END_GAP + (CHASER_SPEED - CHASED_SPEED) * (EVENT_FRAMES - TAU)
            parts = [(s1 - r0 - r1 - gap, zero, True), (s1, zero, True)]
        elif verb == "follow.01":
            s1 = SLOW * TAU
            parts = [(s1 - r0 - r1 - FOLLOW_GAP, zero, True), (s1, zero, True)]
        elif verb == "push.01":
            s1 = MEDIUM * TAU
            parts = [(s1 - r0 - r1 + 0.5, zero, True), (s1, zero, True)]
        elif verb == "pull.01":
            s1 = MEDIUM * TAU
            parts = [(s1 + r0 + r1 + PULL_ROPE, zero, True), (s1, zero, True)]
        elif verb == "approach.01":
            s0 = APPROACH_SPEED * TAU
            end = APPROACH_SPEED * (EVENT_FRAMES - 1)
            parts = [(s0, zero, True), (_const(end + r0 + r1 + CHASE_END_GAP), zero, False)]
        elif verb == "flee.01":
            s0 = APPROACH_SPEED * TAU
            parts = [(s0, zero, True), (_const(-r0 - r1 - CHASE_END_GAP), zero, False)]
        else:
            raise ValueError(f"not a linear verb: {verb}")
    participant_radii = [radii[i] for i in event.participants]
    shift_s = _fit_offset([s[EVENT] - r for (s, _, _), r in zip(parts, participant_radii)],
                          [s[EVENT] + r for (s, _, _), r in zip(parts, participant_radii)], rng)
    shift_u = _fit_offset([u[EVENT] - r for (_, u, _), r in zip(parts, participant_radii)],
                          [u[EVENT] + r for (_, u, _), r in zip(parts, participant_radii)], rng)
    if verb in ("chase.01", "follow.01"):  # a little perpendicular play between the two, as in real pursuits
        jitter = float(rng.uniform(-1.5, 1.5))
        parts[0] = (parts[0][0], parts[0][1] + jitter, parts[0][2])
    tracks = {}
    for participant, (s, u, moving) in zip(event.participants, parts):
        x, y, heading = _to_image(s + shift_s, u + shift_u, zero, direction)
        tracks[participant] = Track(x, y, np.ones_like(TAU), heading * np.ones_like(TAU), moving=moving)
    rope = (event.participants[1], event.participants[0]) if verb == "pull.01" else None
    return EventMotion([tracks.get(i) for i in range(len(radii))], rope)


def _in_place_event(event: EventSpec, radii: list[float], rng: np.random.Generator) -> EventMotion:
    """``spin``, ``grow`` and ``shrink``: the participant stays put; its heading or size changes."""
    actor = event.participants[0]
    max_scale = GROW_SCALES[1] if event.verb_id != "spin.01" else 1.0
    reach = radii[actor] * max_scale * 1.25  # rotated squares/triangles reach a bit beyond the radius
    x = _const(rng.uniform(reach + MARGIN, CANVAS - reach - MARGIN))
    y = _const(rng.uniform(reach + MARGIN, CANVAS - reach - MARGIN))
    heading = _const(rng.uniform(0, 2 * math.pi))
    scale = np.ones_like(TAU)
    if event.verb_id == "spin.01":
        sign = 1.0 if event.modifier("direction") == "clockwise" else -1.0  # +angle is clockwise when y points down
        heading = heading + sign * SPIN_RATE[event.modifier("manner")] * TAU
    else:
        start, end = GROW_SCALES if event.verb_id == "grow.01" else GROW_SCALES[::-1]
        scale = start + (end - start) * (TAU - TAU[0]) / (TAU[-1] - TAU[0])
    tracks: list[Track | None] = [None] * len(radii)
    tracks[actor] = Track(x, y, scale, heading, in_place=True)
    return EventMotion(tracks)


def _place_bystanders(motion: EventMotion, radii: list[float], rng: np.random.Generator, tries: int = 60) -> None:
    """Idle cast members stand still somewhere clear of everyone's path (the best of `tries` random spots)."""
    for index, track in enumerate(motion.tracks):
        if track is not None:
            continue
        radius = radii[index] * 1.25
        others = [(t.x, t.y, radii[i] * t.scale) for i, t in enumerate(motion.tracks) if t is not None]
        best, best_clearance = None, -np.inf
        for _ in range(tries):
            x, y = rng.uniform(radius + MARGIN, CANVAS - radius - MARGIN, size=2)
            clearance = min(float(np.min(np.hypot(ox - x, oy - y) - orad)) for ox, oy, orad in others) - radius
            if clearance > best_clearance:
                best, best_clearance = (x, y), clearance
            if clearance > 3.0:
                break
        heading = float(rng.uniform(0, 2 * math.pi))
        motion.tracks[index] = Track(_const(best[0]), _const(best[1]), np.ones_like(TAU), _const(heading))


def event_motion(clip: ClipSpec, event: EventSpec) -> EventMotion:
    """The tracks of every cast member during `event` (deterministic given the event's ``layout_seed``)."""
    rng = np.random.default_rng(event.layout_seed)
    radii = [entity.radius for entity in clip.cast]
    if event.verb_id in ("spin.01", "grow.01", "shrink.01"):
        motion = _in_place_event(event, radii, rng)
    else:
        motion = _linear_event(event, radii, rng)
    _place_bystanders(motion, radii, rng)
    return motion
