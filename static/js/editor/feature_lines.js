// The feature overlay (issue 26 item 10): the reference face's eye and brow
// outlines, nose, lips and jaw line as lines, projected at the shown pose from
// its iBUG-68 landmarks (pnp.projectPoints: cv2.projectPoints' model). Pure:
// node --test (tests/js/feature_lines.test.mjs); landmark_tool.js draws them.
import { projectPoints } from './pnp.js';

/** iBUG-68 groups: [name, first, last, closed]. */
export const FEATURE_GROUPS = [
  ['jaw', 0, 16, false],
  ['right-brow', 17, 21, false], // the subject's right: image left
  ['left-brow', 22, 26, false],
  ['nose-ridge', 27, 30, false],
  ['nose-base', 31, 35, false],
  ['right-eye', 36, 41, true],
  ['left-eye', 42, 47, true],
  ['outer-lips', 48, 59, true],
  ['inner-lips', 60, 67, true],
];

/** [{name, points: [[u, v], ...], closed}] from the 68 image points. */
export function featurePolylines(points2d) {
  if (points2d.length !== 68) throw new RangeError(`iBUG-68 needs 68 points, got ${points2d.length}`);
  return FEATURE_GROUPS.map(([name, first, last, closed]) => ({ name, points: points2d.slice(first, last + 1), closed }));
}

/** SVG path data of a polyline (closed: back to its start). */
export function polylinePath({ points, closed }) {
  const d = points.map(([u, v], i) => `${i ? 'L' : 'M'}${u.toFixed(2)} ${v.toFixed(2)}`).join('');
  return closed ? `${d}Z` : d;
}

/** The feature lines of the model `points3d` (68, head frame mm) at `pose` under K: [{name, d}]. */
export function featurePaths(K, points3d, pose) {
  return featurePolylines(projectPoints(K, points3d, pose)).map((line) => ({ name: line.name, d: polylinePath(line) }));
}
