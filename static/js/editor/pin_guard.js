// The pins' guard: pins never silently hurt (issue 26 item 9). Pure, no DOM
// (landmark_tool.js shows its verdicts; node --test: tests/js/pin_guard.test.mjs).
//  - judge(): after a solve, a Snap or a proposal switch, whether to warn (with
//    an Undo at hand): the pins' RMSE rose, or the pose went far from every proposal;
//  - pinsAgree() / savePlan(): a label is saved only with pins that match its pose.
import { geodesicDegrees } from './pnp.js';

/** The pins' RMSE "rose" when it grew by more than this (px) and RISE_RATIO of where it was. */
export const RISE_PX = 2;
export const RISE_RATIO = 0.5;
/** Farther than this (degrees, geodesic) from every proposal is "far". */
export const FAR_DEGREES = 15;
/** Pins match the pose when their RMSE there is within this (px) of what a solve from there gives. */
export const AGREE_PX = 1;

/** The server's limit on the pins' RMSE at a saved pose (workers/core/landmark_pins.py:
 * PINS_MATCH_LIMIT_MM on the head at its depth, at least PINS_MATCH_FLOOR_PX; a test keeps them equal).
 * The page holds its saves to it too, so a save is never refused for it after the fact. */
export const SERVER_LIMIT_MM = 15;
export const SERVER_FLOOR_PX = 3;

/** The server's limit in pixels for a head at translation t under K (row-major 9). */
export function serverLimitPx(K, t) {
  return Math.max(SERVER_FLOOR_PX, (SERVER_LIMIT_MM * (K[0] + K[4])) / 2 / t[2]);
}

/** Degrees from R to the nearest proposal (Infinity when there is none). */
export function nearestProposalDegrees(proposals, R) {
  return proposals.reduce((best, p) => Math.min(best, geodesicDegrees(p.R, R)), Infinity);
}

/** Whether the pins' RMSE rose from `before` (null: there were no pins) to `after`. */
export function rmseRose(before, after) {
  return before !== null && after - before > Math.max(RISE_PX, RISE_RATIO * before);
}

/**
 * The verdict on one change of the pose by the pins (action: 'solve' | 'snap' | 'proposal').
 * before: {rmse (null: no pins then), pose}; after: {rmse, pose}; proposals: [{R, t, ...}].
 * Returns {warn, reasons: ['rmse' | 'far'], text}.
 */
export function judge({ action, before, after, proposals = [] }) {
  const reasons = [];
  if (rmseRose(before.rmse, after.rmse)) reasons.push('rmse');
  const farBefore = nearestProposalDegrees(proposals, before.pose.R);
  const farAfter = nearestProposalDegrees(proposals, after.pose.R);
  if (Number.isFinite(farAfter) && farAfter > FAR_DEGREES && farAfter > farBefore + 1) reasons.push('far');
  const what = { solve: 'The solve', snap: 'Snap', proposal: 'The re-solve' }[action] || 'The solve';
  const parts = [];
  if (reasons.includes('rmse')) {
    parts.push(`raised the pins' error from ${before.rmse.toFixed(2)} to ${after.rmse.toFixed(2)} px (a pin may be misplaced)`);
  }
  if (reasons.includes('far')) parts.push(`moved the head ${farAfter.toFixed(0)}° from the nearest proposal`);
  return { warn: reasons.length > 0, reasons, text: parts.length ? `${what} ${parts.join(' and ')}.` : '' };
}

/** Whether pins whose RMSE at the shown pose is `atPose` match it, a solve from there giving `solved`. */
export function pinsAgree(count, atPose, solved) {
  return count === 0 || atPose - solved <= Math.max(AGREE_PX, 0.25 * solved);
}

/** What a save with `status` does about its pins: 'send' them; 'refuse' (a correction or
 * an accept whose pins disagree with the pose: re-solve or unpin first); 'drop' them
 * (a draft, a skip or a flag whose pins disagree is saved without them). */
export function savePlan(status, agree) {
  if (agree) return 'send';
  return status === 'corrected' || status === 'accepted' ? 'refuse' : 'drop';
}

/** The RMSE readout before → after a solve (before null: no pins then). */
export function rmseChange(before, after, count) {
  if (!count) return '–';
  const a = `${after.toFixed(2)} px`;
  return before === null ? a : `${before.toFixed(2)} → ${a}`;
}
