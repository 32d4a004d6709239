// The landmark tool's decisions, without the DOM (landmark_tool.js draws and
// wires them; node --test checks them, tests/js/landmark_logic.test.mjs):
// handle sizes, which handle a press grabs and where a drag pins it, the pin
// readouts, the magnifier's geometry, the zoom readout and the tool's actions.
import { clampToImage } from './pins.js';
import { SOLVE_KINDS } from './pnp.js';

export const MAGNIFIER_PX = 160; // the magnifier's size on screen, CSS px
export const MAGNIFIER_ZOOM = 4; // screen pixels per displayed pixel inside it
const MAGNIFIER_GAP = 24; // CSS px between the pointer and the magnifier

/** Image pixels per drawing unit: marks keep their size on screen at any image size and zoom. */
export function markUnit(width, height, zoomScale) { return Math.max(width, height) / 400 / Math.sqrt(zoomScale); }

/** A handle's radius (image px): a pinned one is drawn larger. */
export function handleRadius(unit, pinned) { return (pinned ? 2.2 : 1.8) * unit; }

/** SVG path of a pin's own mark: a small cross at (x, y), where it was placed. */
export function pinMarkPath({ x, y }, unit) {
  const s = 2.5 * unit;
  return `M${x - s} ${y}H${x + s}M${x} ${y - s}V${y + s}`;
}

/** The landmark nearest `at` (handles overlap: inner and outer mouth corners). */
export function nearestLandmark(points, [x, y]) {
  let best = -1, bestD2 = Infinity;
  points.forEach(([u, v], i) => {
    const d2 = (u - x) ** 2 + (v - y) ** 2;
    if (d2 < bestD2) { best = i; bestD2 = d2; }
  });
  return best;
}

/** A drag's start: the landmark under the pointer and its grab offset, so it keeps its place under the pointer. */
export function startDrag(points, at) {
  const index = nearestLandmark(points, at);
  const shown = points[index];
  return { index, offset: [shown[0] - at[0], shown[1] - at[1]] };
}

/** Where a drag pins its landmark with the pointer at `at`: offset, kept inside the image. */
export function dragTarget(at, offset, width, height) {
  return clampToImage([at[0] + offset[0], at[1] + offset[1]], width, height);
}

/** Throws RangeError when (x, y) lies outside the image (pins from the API are never moved inside). */
export function checkInsideImage(x, y, width, height) {
  const inside = clampToImage([x, y], width, height);
  if (inside[0] !== x || inside[1] !== y) throw new RangeError(`(${x}, ${y}) lies outside the image`);
}

/** The pin readouts: the reprojection RMSE and the count with what the last solve moved (pnp.SOLVE_KINDS). */
export function pinReadout(count, rmse, solveMode) {
  const kind = count && SOLVE_KINDS[solveMode] ? SOLVE_KINDS[solveMode].text : '';
  return {
    rmse: count ? `${rmse.toFixed(2)} px` : '–',
    count: `${count} pinned${kind ? ` · ${kind}` : ''}`,
  };
}

/** The image square the magnifier shows around (u, v): source x, y and span, image px.
 * Image pixel u covers [u - 0.5, u + 0.5] (OpenCV) = source x [u, u + 1]. */
export function magnifierSource(u, v, shownPerImagePx) {
  const span = MAGNIFIER_PX / (MAGNIFIER_ZOOM * shownPerImagePx);
  return { x: u + 0.5 - span / 2, y: v + 0.5 - span / 2, span };
}

/** The magnifier's place in the stage (CSS px) for a pointer at (x, y) in it:
 * above-left of the pointer, flipped below/right to stay inside the stage. */
export function magnifierPlace(x, y) {
  let left = x - MAGNIFIER_PX - MAGNIFIER_GAP, top = y - MAGNIFIER_PX - MAGNIFIER_GAP;
  if (left < 0) left = x + MAGNIFIER_GAP;
  if (top < 0) top = y + MAGNIFIER_GAP;
  return { left, top };
}

/** The zoom readout: 100% is one image pixel per screen pixel. */
export function zoomPercent(scale, oneToOneScale) { return `${Math.round(scale * 100 / oneToOneScale)}%`; }

/** A proposal's line in the list: proposer, version, distance to the shown pose. */
export function proposalLabel(p) { return `${p.proposer}${p.version ? ` v${p.version}` : ''} · ${p.distance.toFixed(1)}°`; }

/** The tool's actions of the keymap (static/js/keymap.js: their keys); the zoom keys are stage_zoom.js's. */
export const TOOL_ACTIONS = ['snap', 'unpinAll', 'handles', 'nextProposal', 'previousProposal', 'features', 'ghosts'];
