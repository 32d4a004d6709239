// Landmark pins and proposal choices: the pure part of the landmark tool
// (landmark_tool.js wires it to the page). A pin holds an iBUG-68 landmark of
// the reference face at an image point (OpenCV pixels); the pose is solved from
// the pins (pnp.js). Saved as the annotation's landmark_pins: [{index, x, y}].
import { geodesicDegrees } from './pnp.js';

export const LANDMARK_COUNT = 68;

export class PinSet {
  constructor(pins = []) {
    this.byIndex = new Map();
    for (const p of pins) this.set(p.index, p.x, p.y);
  }

  /** Pin landmark `index` at (x, y); throws RangeError/TypeError on bad input. */
  set(index, x, y) {
    if (!Number.isInteger(index) || index < 0 || index >= LANDMARK_COUNT) {
      throw new RangeError(`landmark index must be an integer 0..${LANDMARK_COUNT - 1} (iBUG-68), got ${index}`);
    }
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new TypeError('a pin needs finite x and y (image pixels)');
    this.byIndex.set(index, { index, x, y });
  }

  delete(index) { return this.byIndex.delete(index); }
  clear() { this.byIndex.clear(); }
  has(index) { return this.byIndex.has(index); }
  get size() { return this.byIndex.size; }

  /** [{index, x, y}] sorted by index: what the solver and the save take. */
  list() { return [...this.byIndex.values()].sort((a, b) => a.index - b.index).map((p) => ({ ...p })); }
}

/** Keep a point inside the image (OpenCV pixels: [-0.5, W - 0.5]). */
export function clampToImage([x, y], width, height) {
  return [Math.min(width - 0.5, Math.max(-0.5, x)), Math.min(height - 0.5, Math.max(-0.5, y))];
}

/** The proposals with their geodesic distance (degrees) to `pose`. */
export function proposalChoices(proposals, pose) {
  return proposals.map((p) => ({ ...p, distance: geodesicDegrees(p.R, pose.R) }));
}

/** The next proposal index from `current` (-1: none chosen yet) by `step` (+1 / -1), wrapping. */
export function cycleIndex(current, count, step) {
  if (count === 0) return -1;
  if (current < 0) return step > 0 ? 0 : count - 1;
  return ((current + step) % count + count) % count;
}
