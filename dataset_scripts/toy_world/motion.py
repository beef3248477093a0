"""Where every cast member is, frame by frame, during one event: the meaning of each verb as motion.

Each event is a new "shot" of 60 frames (2 s at 30 fps). Tracks are computed for local frames
``tau = -HISTORY_FRAMES … 59``: the negative part is the motion *before* the shot starts, so that every frame of the
event, the first included, already shows a complete motion trail (see `render`).

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
#: Trails show the state this many frames ago, `TRAIL_GHOSTS` times (8, 16, 24 frames = 0.27, 0.53, 0.8 s).
TRAIL_LAG = 8
#: In-place changes (spin, grow, shrink) are slower to see, so their ghosts look further back (0.4, 0.8, 1.2 s).
IN_PLACE_LAG = 12
TRAIL_GHOSTS = 3
HISTORY_FRAMES = IN_PLACE_LAG * TRAIL_GHOSTS
MARGIN = 1.0  # pixels kept free between a body and the canvas edge

QUICK, MEDIUM, SLOW = 0.32, 0.20, 0.15
CHASER_SPEED, CHASED_SPEED = 0.32, 0.20
APPROACH_SPEED = 0.25
JUMP_DRIFT = {"quickly": 0.15, "slowly": 0.06}
JUMP_PERIOD = {"quickly": 20.0, "slowly": 32.0}
JUMP_HEIGHT = 11.0
SPIN_RATE = {"quickly": 0.20, "slowly": 0.08}  # radians per frame
GROW_SCALES = (0.5, 1.5)  # scale at the start of the history and at the end of the event
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
        ghost_lag: frames between trail ghosts; 0 for an entity that does not move (no trail).
        in_place: the change happens in place (spin/grow/shrink): ghosts are also marked on top of the body.
    """

    x: np.ndarray
    y: np.ndarray
    scale: np.ndarray
    heading: np.ndarray
    ghost_lag: int = 0
    in_place: bool = False

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


def _visible(lag: int) -> slice:
    """The part of a track that is ever drawn: the event plus its trail history."""
    return slice(HISTORY_FRAMES - lag * TRAIL_GHOSTS, None)


def _linear_event(event: EventSpec, radii: list[float], rng: np.random.Generator) -> EventMotion:
    """Transitive verbs and ``move``/``jump``: canonical +s motion, fitted to the canvas, mapped to the image."""
    verb = event.verb_id
    direction = event.modifier("direction")
    manner = event.modifier("manner")
    zero = np.zeros_like(TAU)
    # canonical s, u, heading and ghost lag per participant (0 = first role, 1 = second role)
    if verb == "move.01":
        speed = QUICK if manner == "quickly" else SLOW
        parts = [(speed * TAU, zero, TRAIL_LAG)]
    elif verb == "jump.01":
        s = JUMP_DRIFT[manner] * TAU
        u = -JUMP_HEIGHT * np.abs(np.sin(math.pi * TAU / JUMP_PERIOD[manner]))
        parts = [(s, u, TRAIL_LAG)]
    else:
        r0, r1 = radii[event.participants[0]], radii[event.participants[1]]
        if verb == "chase.01":
            s1 = CHASED_SPEED * TAU
            gap = CHASE_END_GAP + (CHASER_SPEED - CHASED_SPEED) * (EVENT_FRAMES - TAU)
            parts = [(s1 - r0 - r1 - gap, zero, TRAIL_LAG), (s1, zero, TRAIL_LAG)]
        elif verb == "follow.01":
            s1 = SLOW * TAU
            parts = [(s1 - r0 - r1 - FOLLOW_GAP, zero, TRAIL_LAG), (s1, zero, TRAIL_LAG)]
        elif verb == "push.01":
            s1 = MEDIUM * TAU
            parts = [(s1 - r0 - r1 + 0.5, zero, TRAIL_LAG), (s1, zero, TRAIL_LAG)]
        elif verb == "pull.01":
            s1 = MEDIUM * TAU
            parts = [(s1 + r0 + r1 + PULL_ROPE, zero, TRAIL_LAG), (s1, zero, TRAIL_LAG)]
        elif verb == "approach.01":
            s0 = APPROACH_SPEED * TAU
            end = APPROACH_SPEED * (EVENT_FRAMES - 1)
            parts = [(s0, zero, TRAIL_LAG), (_const(end + r0 + r1 + CHASE_END_GAP), zero, 0)]
        elif verb == "flee.01":
            s0 = APPROACH_SPEED * TAU
            start = -APPROACH_SPEED * TRAIL_LAG * TRAIL_GHOSTS
            parts = [(s0, zero, TRAIL_LAG), (_const(start - r0 - r1 - CHASE_END_GAP), zero, 0)]
        else:
            raise ValueError(f"not a linear verb: {verb}")
    participant_radii = [radii[i] for i in event.participants]
    visible = _visible(TRAIL_LAG)
    shift_s = _fit_offset([s[visible] - r for (s, _, _), r in zip(parts, participant_radii)],
                          [s[visible] + r for (s, _, _), r in zip(parts, participant_radii)], rng)
    shift_u = _fit_offset([u[visible] - r for (_, u, _), r in zip(parts, participant_radii)],
                          [u[visible] + r for (_, u, _), r in zip(parts, participant_radii)], rng)
    if verb in ("chase.01", "follow.01"):  # a little perpendicular play between the two, as in real pursuits
        jitter = float(rng.uniform(-1.5, 1.5))
        parts[0] = (parts[0][0], parts[0][1] + jitter, parts[0][2])
    tracks = {}
    for participant, (s, u, lag) in zip(event.participants, parts):
        x, y, heading = _to_image(s + shift_s, u + shift_u, zero, direction)
        tracks[participant] = Track(x, y, np.ones_like(TAU), heading * np.ones_like(TAU), ghost_lag=lag)
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
    tracks[actor] = Track(x, y, scale, heading, ghost_lag=IN_PLACE_LAG, in_place=True)
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
