"""Render clips of the toy world to uint8 RGB frames (numpy only).

Single-frame cues — every role, verb and attribute the image benchmarks ask about can be read from ONE frame, and
every cue is drawn at a fixed place inside the body's 16-px cell (see `motion`), so the same cue is the same pixels
in a patch of the base CLIP wherever it happens:

- **Speed lines.** A body that changes place trails 1, 2 or 3 parallel ink lines in the back of its cell: one frame
  shows who moves, in which direction (the lines are behind) and how fast (the number of lines). All marks are
  drawn in the same ink (dark; white on the night sky), whatever the entity's colour, so that "moving" looks the
  same for every entity: the tiny models learn it once instead of once per colour.
- **Heading.** Bodies face left or right (where they go) and carry a dark "eye" on that side.
- **Jumps** lift the body above a dark shadow on the ground.
- **In-place changes** are marked on the body: spinning leaves an ink arc around it, traced over the last frames
  (faint at its start, dark at the body's heading, so clockwise and counterclockwise differ; 270° when quick,
  120° when slow); growing leaves ink outlines of its smaller past sizes inside the body, shrinking of its larger
  past sizes around it.
- **Contact and ropes.** ``push`` draws the pusher touching the pushed across the cell border; ``pull`` a rope from
  the puller back to the pulled.
- Bodies have a dark outline so that every colour stays visible on every scene.

Drawing is anti-aliased (4×4 supersampled coverage masks, cached per quantised shape/size/angle/sub-pixel offset),
which keeps a full 300-frame clip at a few tens of milliseconds.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .grammar import COLOURS, ClipSpec
from .motion import CANVAS, CELL, EVENT_FRAMES, SIZE_GHOST_STEP, SIZE_GHOSTS, EventMotion, Track, event_motion

SUPERSAMPLE = 4
OUTLINE_COLOUR = np.array((20, 20, 20), dtype=np.float32)
EYE_COLOUR = np.array((15, 15, 15), dtype=np.float32)
#: the ink of every motion mark (speed lines, spin arcs, size outlines, ropes): dark, except on the night sky
INK_COLOURS = {"night": np.array((235, 235, 235), dtype=np.float32)}
DEFAULT_INK_COLOUR = np.array((25, 25, 25), dtype=np.float32)
#: opacity of spin arcs at their oldest and newest end
SPIN_ARC_ALPHAS = (0.15, 1.0)
SPIN_ARC_GAP = 1.8  # px between the body and its spin arc
#: speed lines: vertical offsets (px, from the body's centre) for 1, 2 and 3 lines; half width; how far behind the
#: body they start (they end under it)
SPEED_LINE_ROWS = {1: (0.0,), 2: (-1.6, 1.6), 3: (-3.0, 0.0, 3.0)}
SPEED_LINE_HALF_WIDTH = 0.7
SPEED_LINE_REACH = 5.5
#: opacity of grow/shrink ghost outlines, the most distant first; they stay inside the body's cell
MARK_ALPHAS = (0.55, 0.75, 0.95)
MAX_GHOST_RADIUS = 7.0
SHADOW_ALPHA = 0.6


# ---------------------------------------------------------------------------------------------------------------------
# Scenes
# ---------------------------------------------------------------------------------------------------------------------
def scene_background(scene: str, seed: int) -> np.ndarray:
    """A 64×64 float32 RGB background: a flat colour plus one large-scale feature that identifies the scene
    (shoreline, road markings, tiles, speckles, stars). Layout details vary per clip (`seed`). There is no per-pixel
    noise: it would only cost codec bits and make the tiny models' job harder without adding meaning."""
    rng = np.random.default_rng(seed)
    size = CANVAS
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    image = np.zeros((size, size, 3), dtype=np.float32)
    tint = rng.uniform(-6, 6, size=3).astype(np.float32)
    if scene == "park":  # grass with a few darker tufts
        image[:] = (72, 128, 62)
        image[rng.random((size, size)) < 0.02] = (52, 100, 45)
    elif scene == "beach":  # sea on top, sand below, a wavy shoreline
        shore = size * 0.3 + 2.5 * np.sin(xx[0] / 6.0 + rng.uniform(0, 6.28))
        image[:] = (226, 204, 152)
        image[yy < shore[None, :]] = (62, 138, 196)
    elif scene == "street":  # asphalt with a dashed centre line and kerbs
        image[:] = (92, 92, 98)
        offset = int(rng.integers(0, 10))
        image[((xx + offset) % 10 < 5) & (np.abs(yy - size / 2) < 1)] = (230, 230, 225)
        image[(yy < 3) | (yy >= size - 3)] = (150, 150, 150)
    elif scene == "kitchen":  # large checkerboard tiles
        offset = rng.integers(0, 16, size=2)
        checker = (((xx + offset[0]) // 16 + (yy + offset[1]) // 16) % 2).astype(bool)
        image[:] = (205, 195, 172)
        image[checker] = (170, 160, 142)
    elif scene == "snow":  # near-white with blue-grey speckles
        image[:] = (236, 240, 247)
        image[rng.random((size, size)) < 0.02] = (200, 208, 225)
    elif scene == "night":  # dark sky with stars
        image[:] = (22, 26, 62)
        image[rng.random((size, size)) < 0.015] = (240, 240, 200)
    else:
        raise ValueError(f"unknown scene {scene!r}")
    return np.clip(image + tint, 0, 255)


# ---------------------------------------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------------------------------------
def _inside(shape: str, dx: np.ndarray, dy: np.ndarray, radius: float, angle: float) -> np.ndarray:
    """Boolean inside-test of a shape of `radius` facing `angle`, at offsets (dx, dy) from its centre."""
    if shape == "circle":
        return dx * dx + dy * dy <= radius * radius
    cos, sin = math.cos(angle), math.sin(angle)
    along, across = dx * cos + dy * sin, -dx * sin + dy * cos  # coordinates in the shape's own frame
    if shape == "square":
        half = 0.82 * radius
        return (np.abs(along) <= half) & (np.abs(across) <= half)
    if shape == "cross":
        arm, half = 1.05 * radius, 0.36 * radius
        return ((np.abs(along) <= arm) & (np.abs(across) <= half)) | ((np.abs(across) <= arm) & (np.abs(along) <= half))
    if shape == "triangle":  # equilateral, one vertex pointing forward
        circumradius = 1.25 * radius
        inside = np.ones_like(dx, dtype=bool)
        for k in range(3):
            normal = math.pi / 3 + k * 2 * math.pi / 3  # outward normals of the three edges
            inside &= along * math.cos(normal) + across * math.sin(normal) <= circumradius / 2
        return inside
    raise ValueError(f"unknown shape {shape!r}")


@lru_cache(maxsize=65536)
def _coverage(shape: str, radius_q: int, angle_q: int, frac_x_q: int, frac_y_q: int) -> tuple[np.ndarray, int]:
    """Anti-aliased coverage of a shape whose centre lies at (frac_x, frac_y) inside pixel (0, 0).

    Returns the mask and the pixel offset of its top-left corner from that pixel. Arguments are quantised (radius in
    1/8 px, angle in 3°, sub-pixel position in 1/4 px) so that the cache is small and hits often.
    """
    radius = radius_q / 8.0
    angle = math.radians(angle_q * 3)
    frac_x, frac_y = frac_x_q / 4.0, frac_y_q / 4.0
    half = int(math.ceil(radius * 1.3)) + 2
    width = 2 * half + 1
    steps = (np.arange(width * SUPERSAMPLE, dtype=np.float32) + 0.5) / SUPERSAMPLE - half
    dy, dx = np.meshgrid(steps - frac_y + 0.5, steps - frac_x + 0.5, indexing="ij")
    inside = _inside(shape, dx, dy, radius, angle).astype(np.float32)
    mask = inside.reshape(width, SUPERSAMPLE, width, SUPERSAMPLE).mean(axis=(1, 3))
    return mask[..., None], -half  # (h, w, 1): broadcasts over RGB without a copy


def _mask(shape: str, x: float, y: float, radius: float, angle: float) -> tuple[np.ndarray, int, int]:
    """Coverage mask of a shape centred at (x, y) and the pixel position of the mask's top-left corner."""
    px, py = math.floor(x), math.floor(y)
    fx, fy = int((x - px) * 4), int((y - py) * 4)
    angle_q = int(round(math.degrees(angle) / 3)) % 120
    mask, offset = _coverage(shape, max(1, int(round(radius * 8))), angle_q, fx, fy)
    return mask, px + offset, py + offset


def _blend(canvas: np.ndarray, mask: np.ndarray, left: int, top: int, colour: np.ndarray, alpha: float) -> None:
    """Alpha-blend `colour` through `mask` into `canvas` at (left, top), clipped to the canvas."""
    height, width = mask.shape[:2]
    if left >= 0 and top >= 0 and left + width <= CANVAS and top + height <= CANVAS:  # the common case
        region = canvas[top : top + height, left : left + width]
        region += (mask * alpha) * (colour - region)
        return
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + width, canvas.shape[1]), min(top + height, canvas.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    region = canvas[y0:y1, x0:x1]
    region += (mask[y0 - top : y1 - top, x0 - left : x1 - left] * alpha) * (colour - region)


def _draw_ring(canvas, shape, x, y, radius, angle, colour, alpha) -> None:
    """A thin outline: coverage at `radius` minus coverage one pixel inside."""
    outer, left, top = _mask(shape, x, y, radius, angle)
    inner, ileft, itop = _mask(shape, x, y, max(radius - 1.0, 0.2), angle)
    ring = outer.copy()
    dy, dx = itop - top, ileft - left
    ring[dy : dy + inner.shape[0], dx : dx + inner.shape[1]] -= inner
    _blend(canvas, np.clip(ring, 0, 1), left, top, colour, alpha)


def _draw_body(canvas, shape, x, y, radius, angle, colour) -> None:
    mask, left, top = _mask(shape, x, y, radius + 0.9, angle)
    _blend(canvas, mask, left, top, OUTLINE_COLOUR, 1.0)
    mask, left, top = _mask(shape, x, y, radius, angle)
    _blend(canvas, mask, left, top, colour, 1.0)
    _draw_eye(canvas, x, y, radius, angle, 1.0)


def _draw_eye(canvas, x, y, radius, angle, alpha) -> None:
    eye_radius = max(1.0, 0.24 * radius)
    distance = 0.5 * radius
    mask, left, top = _mask("circle", x + distance * math.cos(angle), y + distance * math.sin(angle), eye_radius, 0.0)
    _blend(canvas, mask, left, top, EYE_COLOUR, alpha)


def _draw_rope(canvas, start: tuple[float, float], end: tuple[float, float], colour: np.ndarray) -> None:
    _draw_polylines(canvas, [[start, end]], 0.5, colour, (1.0, 1.0))


def _draw_polylines(canvas, lines: np.ndarray, half_width: float, colour: np.ndarray,
                    alphas: tuple[float, float]) -> None:
    """Bands along polylines ``lines[i] = [(x, y), …]`` (oldest point first), all drawn in one vectorised pass.

    Opacity grows linearly with arc length from `alphas[0]` to `alphas[1]`; edges are anti-aliased analytically
    (coverage = clip(half_width + 0.5 - distance, 0, 1)); where bands overlap the larger opacity wins.
    """
    lines = np.asarray(lines, dtype=np.float32)  # (num_lines, num_points, 2)
    starts, ends = lines[:, :-1].reshape(-1, 2), lines[:, 1:].reshape(-1, 2)
    lengths = np.hypot(*(ends - starts).T)
    per_line = lengths.reshape(lines.shape[0], -1)
    total = float(per_line.sum(axis=1).max())
    if total < 0.5:
        return
    offsets = (np.cumsum(per_line, axis=1) - per_line).reshape(-1)  # arc length at each segment start
    keep = lengths > 1e-6
    starts, ends, lengths, offsets = starts[keep], ends[keep], lengths[keep], offsets[keep]
    left = max(int(math.floor(lines[..., 0].min() - half_width)) - 1, 0)
    top = max(int(math.floor(lines[..., 1].min() - half_width)) - 1, 0)
    right = min(int(math.ceil(lines[..., 0].max() + half_width)) + 1, CANVAS)
    bottom = min(int(math.ceil(lines[..., 1].max() + half_width)) + 1, CANVAS)
    if left >= right or top >= bottom:
        return
    py, px = np.mgrid[top:bottom, left:right].astype(np.float32)[..., None] + 0.5  # (H, W, 1)
    direction = (ends - starts) / lengths[:, None]
    along = np.clip((px - starts[:, 0]) * direction[:, 0] + (py - starts[:, 1]) * direction[:, 1], 0.0, lengths)
    distance = np.hypot(px - starts[:, 0] - along * direction[:, 0], py - starts[:, 1] - along * direction[:, 1])
    coverage = np.clip(half_width + 0.5 - distance, 0.0, 1.0)
    opacity = alphas[0] + (alphas[1] - alphas[0]) * (offsets + along) / total
    weight = (coverage * opacity).max(axis=-1)
    region = canvas[top:bottom, left:right]
    region += weight[..., None] * (colour - region)


def _speed_lines(canvas, track: Track, tau: int, radius: float, ink: np.ndarray) -> None:
    """`track.speed_lines` horizontal ink lines behind the body, from the back of its cell to under the body."""
    x, y, _, heading = track.at(tau)
    _, ground_y = track.ground(tau)
    back = -1.0 if math.cos(heading) > 0 else 1.0  # the lines are on the side the body comes from
    start, end = x + back * (radius + SPEED_LINE_REACH), x + back * 0.2 * radius
    cell_left = math.floor(x / CELL) * CELL
    start = min(max(start, cell_left + 0.5), cell_left + CELL - 0.5)  # the lines stay in the body's cell
    centre_y = ground_y if not track.jumping else y
    lines = [[(start, centre_y + dy), (end, centre_y + dy)] for dy in SPEED_LINE_ROWS[track.speed_lines]]
    _draw_polylines(canvas, lines, SPEED_LINE_HALF_WIDTH, ink, (1.0, 1.0))


def _spin_arc(canvas, track: Track, tau: int, radius: float, ink: np.ndarray) -> None:
    """The arc the heading swept during the last `track.spin_arc_frames` frames, just outside the body: faint at
    its start, dark where the body faces now."""
    x, y, _, _ = track.at(tau)
    headings = [track.at(int(t))[3] for t in np.linspace(tau - track.spin_arc_frames, tau, 13).round()]
    distance = radius + SPIN_ARC_GAP
    points = np.stack([[x + distance * math.cos(h) for h in headings], [y + distance * math.sin(h) for h in headings]],
                      axis=1)
    _draw_polylines(canvas, [points], 0.75, ink, SPIN_ARC_ALPHAS)


def _shadow(canvas, track: Track, tau: int, radius: float, ink: np.ndarray) -> None:
    """A jumper's shadow: a flat ellipse on the ground under it."""
    x, ground_y = track.ground(tau)
    top = ground_y + radius + 0.3
    yy, xx = np.mgrid[0:CANVAS, 0:CANVAS].astype(np.float32) + 0.5
    inside = ((xx - x) / (radius * 0.9)) ** 2 + ((yy - top - 0.8) / 0.9) ** 2 <= 1.0
    canvas[inside] += SHADOW_ALPHA * (ink - canvas[inside])


# ---------------------------------------------------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------------------------------------------------
def static_layer(clip: ClipSpec, motion: EventMotion, background: np.ndarray) -> np.ndarray:
    """The background with the event's idle cast members drawn in (they look the same in every frame)."""
    canvas = background.copy()
    for index, track in enumerate(motion.tracks):
        if track.still:
            entity = clip.cast[index]
            x, y, scale, heading = track.at(0)
            _draw_body(canvas, entity.shape, x, y, entity.radius * scale, heading,
                       np.array(COLOURS[entity.colour], dtype=np.float32))
    return canvas


def render_event_frame(clip: ClipSpec, motion: EventMotion, tau: int, layer: np.ndarray) -> np.ndarray:
    """One frame (uint8 RGB, 64×64) of an event at local frame `tau` (0…59), drawn over its `static_layer`."""
    canvas = layer.copy()
    cast = clip.cast
    colours = [np.array(COLOURS[entity.colour], dtype=np.float32) for entity in cast]
    ink = INK_COLOURS.get(clip.scene, DEFAULT_INK_COLOUR)
    if motion.rope is not None:  # from the puller's back to the pulled's front, at the height of their centres
        puller, pulled = (motion.tracks[i] for i in motion.rope)
        (xa, ya), (xb, yb) = puller.ground(tau), pulled.ground(tau)
        direction = 1.0 if xa > xb else -1.0
        ra, rb = cast[motion.rope[0]].radius, cast[motion.rope[1]].radius
        _draw_rope(canvas, (xa - direction * ra, ya), (xb + direction * rb, yb), ink)
    # Beneath the bodies: speed lines and shadows.
    for index, track in enumerate(motion.tracks):
        if track.moving:
            _speed_lines(canvas, track, tau, cast[index].radius, ink)
        if track.jumping:
            _shadow(canvas, track, tau, cast[index].radius, ink)
    for index, track in enumerate(motion.tracks):
        if not track.still:
            x, y, scale, heading = track.at(tau)
            _draw_body(canvas, cast[index].shape, x, y, cast[index].radius * scale, heading, colours[index])
    # On top of the bodies: the marks of in-place changes, which the bodies would otherwise hide.
    for index, track in enumerate(motion.tracks):
        if not track.in_place:
            continue
        if np.ptp(track.scale) > 0:
            x, y, scale, heading = track.at(tau)
            growing = track.scale[-1] > track.scale[0]
            for k, alpha in zip(range(SIZE_GHOSTS, 0, -1), MARK_ALPHAS):
                factor = 1.0 - SIZE_GHOST_STEP * k if growing else 1.0 + SIZE_GHOST_STEP * k
                radius = min(max(cast[index].radius * scale * factor, 1.0), MAX_GHOST_RADIUS)
                _draw_ring(canvas, cast[index].shape, x, y, radius, heading, ink, alpha)
        else:
            _spin_arc(canvas, track, tau, cast[index].radius * track.at(tau)[2], ink)
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


def render_clip(clip: ClipSpec, frame_indices=None) -> np.ndarray:
    """Frames of a clip, ``(T, 64, 64, 3)`` uint8: all 300 (10 s at 30 fps) or the given 0-based frame indices."""
    num_frames = EVENT_FRAMES * len(clip.events)
    indices = range(num_frames) if frame_indices is None else [int(i) for i in frame_indices]
    background = scene_background(clip.scene, clip.scene_seed)
    events: dict[int, tuple[EventMotion, np.ndarray]] = {}
    frames = np.empty((len(indices), CANVAS, CANVAS, 3), dtype=np.uint8)
    for out_index, frame_index in enumerate(indices):
        if not 0 <= frame_index < num_frames:
            raise IndexError(f"frame {frame_index} is outside the clip (0…{num_frames - 1})")
        event_index, tau = divmod(frame_index, EVENT_FRAMES)
        if event_index not in events:
            motion = event_motion(clip, clip.events[event_index])
            events[event_index] = motion, static_layer(clip, motion, background)
        motion, layer = events[event_index]
        frames[out_index] = render_event_frame(clip, motion, tau, layer)
    return frames
