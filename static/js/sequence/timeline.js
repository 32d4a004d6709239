// The sequence timeline's logic, without the DOM: positions (0 .. n-1, the
// frames in order; a frame's own number is frames[i].frame_index), stepping,
// playback timing, keyframes, spikes and the strip chart's geometry.
// page.js draws what these return; node --test checks them (tests/js/).

export const KINDS = ['keyframe', 'interpolated', 'smoothed_proposal'];

export function clampPosition(i, n) {
  if (n <= 0) return 0;
  return Math.min(n - 1, Math.max(0, Math.trunc(i)));
}

/** One step of ±1 / ±10 frames, kept inside the sequence. */
export function step(position, delta, n) { return clampPosition(position + delta, n); }

/** Positions of the frames labeled `kind` (keyframes by default). */
export function positionsOf(frames, kind = 'keyframe') {
  const out = [];
  frames.forEach((f, i) => { if (f.track_label === kind) out.push(i); });
  return out;
}

/** The spikes (frame numbers) as positions, in order. */
export function spikePositions(frames, spikes) {
  const wanted = new Set(spikes);
  const out = [];
  frames.forEach((f, i) => { if (wanted.has(f.frame_index)) out.push(i); });
  return out;
}

/** The first position after `position` in a sorted list, or null. */
export function nextAfter(sorted, position) {
  for (const p of sorted) if (p > position) return p;
  return null;
}

/** Playback: the position shown `elapsedMs` after starting at `start`, at
 * `fps`; done once the last frame is reached. Playback keeps time: when the
 * page falls behind, it shows the frame of the moment and skips the ones between. */
export function playbackPosition(start, elapsedMs, fps, n) {
  const raw = start + Math.floor((elapsedMs * fps) / 1000 + 1e-9);
  const position = clampPosition(raw, n);
  return { position, done: raw >= n - 1 };
}

/** x (px) of the centre of each frame's slot on a timeline `width` px wide. */
export function tickX(i, n, width) { return ((i + 0.5) * width) / Math.max(n, 1); }

/** Which positions get a drawn tick: every one when they are at least
 * `minGap` px apart, else every k-th (k from 1, 2, 5, 10, 20, 50 ...). */
export function tickPositions(n, width, minGap = 6) {
  const steps = [1, 2, 5];
  let k = 1;
  for (let scale = 1; (k * width) / Math.max(n, 1) < minGap; scale *= 10) {
    k = steps.map((s) => s * scale).find((c) => (c * width) / Math.max(n, 1) >= minGap) || 10 * scale;
  }
  const out = [];
  for (let i = 0; i < n; i += k) out.push(i);
  return out;
}

/** The position under pixel x of the timeline (scrubbing). */
export function positionAtX(x, n, width) { return clampPosition(Math.floor((x / Math.max(width, 1)) * n), n); }

/** The strip chart of the gap (degrees) between each frame's label and its raw
 * proposal: polylines (as SVG "x,y ..." strings) broken where a frame has no
 * gap, y = 0 at the bottom, `maxDeg` (at least 5) at the top. */
export function gapPolylines(gaps, width, height, maxDeg = null) {
  const finite = gaps.filter((g) => g !== null && Number.isFinite(g));
  const top = Math.max(5, maxDeg ?? (finite.length ? Math.max(...finite) : 0));
  const lines = [];
  let current = [];
  gaps.forEach((g, i) => {
    if (g === null || !Number.isFinite(g)) {
      if (current.length) lines.push(current);
      current = [];
      return;
    }
    const y = height - (Math.min(g, top) / top) * height;
    current.push(`${tickX(i, gaps.length, width).toFixed(1)},${y.toFixed(1)}`);
  });
  if (current.length) lines.push(current);
  return { top, lines: lines.map((pts) => pts.join(' ')) };
}

/** What the save API needs to make the shown pose this frame's keyframe, or
 * to delete the keyframe (it becomes a draft: kept in the history, no longer a
 * keyframe). */
export function keyframeSave(frame, { remove = false } = {}) {
  if (frame.face === null || frame.face === undefined) throw new Error('this frame has no face to label');
  if (!frame.R) throw new Error('this frame has no pose to keep');
  return { R: frame.R, t: frame.t, status: remove ? 'draft' : 'corrected', expected_version: frame.version || 0 };
}
