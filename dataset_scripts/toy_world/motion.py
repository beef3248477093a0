"""Where every cast member is, frame by frame, during one event: the meaning of each verb as motion on a board.

The 64×64 frame is a board of 4×4 cells of `CELL` = 16 px — exactly the patch grid of the world's base CLIP
(ViT, 16-px patches). Every body stands in one cell, at a fixed place inside it, and moves in whole-cell steps, like
a sprite in a tile-based game. Why: a small ViT reads each patch through one linear map, so a cue that may fall at
any of the 256 sub-patch offsets has to be learnt 256 times over; measured with supervised probes on this world
(see `dataset_scripts/toy_world/README.md`), snapping bodies to the cells makes the base ViT learn the verbs
several times faster, while a CNN, which is shift-invariant, learns them either way. The same cue now always gives
the same pixels in a patch, and relations (who is behind whom) are between neighbouring patches.

Each event is a new "shot" of 60 frames (2 s at 30 fps) on the same board. Tracks are computed for local frames
``tau = -HISTORY_FRAMES … 59``: the negative part is the state *before* the shot, so a spin already shows its arc in
the first frame. Translational verbs are laid out once for motion to
the right and mirrored for the left, so "left" and "right" are exact mirror images of each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .grammar import ClipSpec, EventSpec

CANVAS = 64
CELL = 16
GRID = CANVAS // CELL  # 4 × 4 cells
FPS = 30
EVENT_FRAMES = 60
#: Growing (shrinking) bodies are drawn with ink outlines of the smaller (larger) sizes they had: at these factors
#: of their current size, the most distant one first; spinning leaves the arc its heading swept during the last
#: `ARC_FRAMES` frames: 270° for quick spins, 120° for slow ones (frames = angle / SPIN_RATE).
SIZE_GHOST_STEP = 0.22
SIZE_GHOSTS = 3
ARC_FRAMES = {"quickly": 24, "slowly": 26}
HISTORY_FRAMES = max(ARC_FRAMES.values())
#: Where a body stands inside its cell (pixels from the cell's top-left corner): a mover stands towards the front of
#: its cell, leaving the back of the cell for its speed lines; everything else stands in the middle.
MOVER_X = 9.5
CENTRE = CELL / 2
#: Touching bodies (push): the pusher stands at the front edge of its cell, the pushed at the back edge of the next.
CONTACT_GAP = 0.5
#: Speed lines per speed: the number of parallel lines a mover trails (the single-frame cue of "how fast").
SPEED_LINES = {"slow": 1, "medium": 2, "quick": 3}
#: A jumper's body is lifted this many pixels above its shadow at the top of a hop.
JUMP_LIFT = {"quickly": 3.5, "slowly": 2.5}
#: A jumper's ground is this much below the middle of its row, so that its lifted body stays inside the cell.
JUMP_GROUND = 1.5
JUMP_PERIOD = {"quickly": 20.0, "slowly": 30.0}
SPIN_RATE = {"quickly": 0.20, "slowly": 0.08}  # radians per frame
GROW_SCALES = (0.55, 1.3)  # scale at the start of the history and at the end of the event


@dataclass
class Track:
    """One entity over local frames ``tau = -HISTORY_FRAMES … EVENT_FRAMES - 1`` (index ``tau + HISTORY_FRAMES``).

    Attributes:
        x, y: where the body stands (pixels; on the ground, i.e. below a jumper's lifted body).
        scale: factor on the entity's radius (1 except while growing/shrinking).
        heading: the direction the body faces (radians, image coordinates: 0 = +x, pi/2 = +y = down); bodies are
            drawn rotated by it and carry an "eye" on that side.
        lift: how far the body is drawn above (x, y) (jumping), in pixels.
        speed_lines: how many speed lines the body trails (0: it does not change place).
        in_place: the body changes in place (spin, grow, shrink): its recent states are marked on top of it.
        jumping: the body hops: it casts a shadow on the ground under it.
    """

    x: np.ndarray
    y: np.ndarray
    scale: np.ndarray
    heading: np.ndarray
    lift: np.ndarray = field(default=None)  # type: ignore[assignment]
    speed_lines: int = 0
    in_place: bool = False
    jumping: bool = False
    spin_arc_frames: int = 0

    def __post_init__(self) -> None:
        if self.lift is None:
            self.lift = np.zeros_like(self.x)

    @property
    def moving(self) -> bool:
        """Trails speed lines (it changes place by itself; a pushed or pulled body changes place without)."""
        return self.speed_lines > 0

    @property
    def still(self) -> bool:
        """Looks the same in every frame of the event (drawn once, into the event's static layer)."""
        return not (self.moving or self.in_place or self.jumping or np.ptp(self.x) > 0 or np.ptp(self.y) > 0)

    def at(self, tau: int) -> tuple[float, float, float, float]:
        """``(x, y, scale, heading)`` of the body at local frame `tau` (y of the drawn body, lift included)."""
        index = tau + HISTORY_FRAMES
        return (float(self.x[index]), float(self.y[index] - self.lift[index]), float(self.scale[index]),
                float(self.heading[index]))

    def ground(self, tau: int) -> tuple[float, float]:
        index = tau + HISTORY_FRAMES
        return float(self.x[index]), float(self.y[index])

    def cell(self, tau: int) -> tuple[int, int]:
        """``(column, row)`` of the cell the body stands in."""
        x, y = self.ground(tau)
        return int(x // CELL), int(y // CELL)


@dataclass
class EventMotion:
    """The tracks of every cast member during one event, plus the rope of ``pull`` (cast indices, or None)."""

    tracks: list[Track]
    rope: tuple[int, int] | None = None


TAU = np.arange(-HISTORY_FRAMES, EVENT_FRAMES, dtype=np.float64)


def _const(value: float) -> np.ndarray:
    return np.full_like(TAU, value)


def _steps(start: int, times: tuple[int, ...]) -> np.ndarray:
    """Column over time of a body that starts in column `start` and steps one cell forward at each of `times`."""
    column = np.full_like(TAU, float(start))
    for time in times:
        column += (TAU >= time).astype(np.float64)
    return column


@dataclass
class _Part:
    """One participant of a translational layout, for motion to the right (columns over time, in-cell x offset)."""

    column: np.ndarray
    offset: float = MOVER_X
    speed: str | None = None  # key of SPEED_LINES, or None when it does not move
    jumping: bool = False


def _linear_layout(event: EventSpec, radii: list[float], rng: np.random.Generator) -> list[_Part]:
    """Columns (for motion to the right) of the participants of ``move``, ``jump`` and the transitive verbs."""
    verb, manner = event.verb_id, event.modifier("manner")
    if verb in ("move.01", "jump.01"):
        if manner == "quickly":  # two steps: from column 0 or 1 to two columns on
            return [_Part(_steps(int(rng.integers(2)), (20, 40)), speed="quick", jumping=verb == "jump.01")]
        return [_Part(_steps(int(rng.integers(3)), (30,)), speed="slow", jumping=verb == "jump.01")]
    first, second = radii[event.participants[0]], radii[event.participants[1]]
    start = int(rng.integers(2))
    if verb == "chase.01":  # the chaser runs right behind the chased; both step at the same time
        return [_Part(_steps(start, (30,)), speed="quick"), _Part(_steps(start + 1, (30,)), speed="medium")]
    if verb == "follow.01":  # the follower walks one empty cell behind
        return [_Part(_steps(0, (40,)), speed="slow"), _Part(_steps(2, (40,)), speed="slow")]
    if verb == "push.01":  # the pusher's front touches the pushed's back across the cell border; the pushed slides
        pusher = CELL - CONTACT_GAP / 2 - first
        pushed = CONTACT_GAP / 2 + second
        return [_Part(_steps(start, (30,)), offset=pusher, speed="medium"),
                _Part(_steps(start + 1, (30,)), offset=pushed, speed=None)]
    if verb == "pull.01":  # the puller walks ahead with a rope back to the pulled, across the empty cell between
        return [_Part(_steps(2, (30,)), speed="medium"), _Part(_steps(0, (30,)), speed=None)]
    if verb == "approach.01":  # the approacher walks up to the still one and stops next to it
        return [_Part(_steps(start, (30,)), speed="medium"), _Part(_const(start + 2.0), offset=CENTRE)]
    if verb == "flee.01":  # the one fleeing runs away from the still one
        return [_Part(_steps(start + 1, (30,)), speed="quick"), _Part(_const(float(start)), offset=CENTRE)]
    raise ValueError(f"not a linear verb: {verb}")


def _linear_event(event: EventSpec, radii: list[float], rng: np.random.Generator) -> EventMotion:
    """Translational verbs: a layout along one row for motion to the right, mirrored for the left."""
    parts = _linear_layout(event, radii, rng)
    row = int(rng.integers(GRID))
    leftward = event.modifier("direction") == "left"
    manner = event.modifier("manner")
    tracks: dict[int, Track] = {}
    for participant, part in zip(event.participants, parts):
        x = part.column * CELL + part.offset
        heading = 0.0
        if leftward:
            x, heading = CANVAS - x, math.pi
        lift = np.zeros_like(TAU)
        if part.jumping:
            lift = JUMP_LIFT[manner] * np.abs(np.sin(math.pi * TAU / JUMP_PERIOD[manner]))
        ground = row * CELL + CENTRE + (JUMP_GROUND if part.jumping else 0.0)
        tracks[participant] = Track(
            x=x, y=_const(ground), scale=np.ones_like(TAU), heading=_const(heading), lift=lift,
            speed_lines=SPEED_LINES[part.speed] if part.speed else 0, jumping=part.jumping,
        )
    rope = (event.participants[0], event.participants[1]) if event.verb_id == "pull.01" else None
    return EventMotion([tracks.get(i) for i in range(len(radii))], rope)


def _in_place_event(event: EventSpec, radii: list[float], rng: np.random.Generator) -> EventMotion:
    """``spin``, ``grow`` and ``shrink``: the participant stays in the middle of one cell; its heading or size
    changes."""
    actor = event.participants[0]
    column, row = (int(v) for v in rng.integers(GRID, size=2))
    heading = _const(float(rng.choice([0.0, math.pi])))
    scale = np.ones_like(TAU)
    arc_frames = 0
    if event.verb_id == "spin.01":
        sign = 1.0 if event.modifier("direction") == "clockwise" else -1.0  # +angle is clockwise when y points down
        heading = heading + sign * SPIN_RATE[event.modifier("manner")] * TAU
        arc_frames = ARC_FRAMES[event.modifier("manner")]
    else:
        start, end = GROW_SCALES if event.verb_id == "grow.01" else GROW_SCALES[::-1]
        scale = start + (end - start) * (TAU - TAU[0]) / (TAU[-1] - TAU[0])
    tracks: list[Track | None] = [None] * len(radii)
    tracks[actor] = Track(_const(column * CELL + CENTRE), _const(row * CELL + CENTRE), scale, heading,
                          in_place=True, spin_arc_frames=arc_frames)
    return EventMotion(tracks)


def _occupied(motion: EventMotion) -> set[tuple[int, int]]:
    cells = set()
    for track in motion.tracks:
        if track is not None:
            for tau in range(0, EVENT_FRAMES):
                cells.add(track.cell(tau))
    return cells


def _place_bystanders(motion: EventMotion, rng: np.random.Generator) -> None:
    """Idle cast members stand still, facing left or right, in the middle of a cell nobody passes through and, when
    possible, in another row than the action's (so that they never look like a party to it)."""
    for index, track in enumerate(motion.tracks):
        if track is not None:
            continue
        taken = _occupied(motion)
        rows = {row for _, row in taken}
        free = [(c, r) for r in range(GRID) for c in range(GRID) if (c, r) not in taken]
        away = [cell for cell in free if cell[1] not in rows] or free
        column, row = away[int(rng.integers(len(away)))]
        heading = float(rng.choice([0.0, math.pi]))
        motion.tracks[index] = Track(_const(column * CELL + CENTRE), _const(row * CELL + CENTRE), np.ones_like(TAU),
                                     _const(heading))


def event_motion(clip: ClipSpec, event: EventSpec) -> EventMotion:
    """The tracks of every cast member during `event` (deterministic given the event's ``layout_seed``)."""
    rng = np.random.default_rng(event.layout_seed)
    radii = [entity.radius for entity in clip.cast]
    if event.verb_id in ("spin.01", "grow.01", "shrink.01"):
        motion = _in_place_event(event, radii, rng)
    else:
        motion = _linear_event(event, radii, rng)
    _place_bystanders(motion, rng)
    return motion
