// pin_guard.js: when pins warn, and what a save does with pins that disagree with the pose.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SERVER_FLOOR_PX, SERVER_LIMIT_MM, judge, nearestProposalDegrees, pinsAgree, rmseChange, rmseRose, savePlan, serverLimitPx,
} from '../../static/js/editor/pin_guard.js';
import { eulerToMatrix } from '../../static/js/editor/pose.js';

const pose = (yaw) => ({ R: eulerToMatrix(yaw, 0, 0), t: [0, 0, 600] });
const proposals = [pose(0), pose(10)];

test('the RMSE rose: by more than 2 px and half of where it was; no pins before never rose', () => {
  assert.equal(rmseRose(0.3, 2.2), false);
  assert.equal(rmseRose(0.3, 2.4), true);
  assert.equal(rmseRose(6, 8.9), false);
  assert.equal(rmseRose(6, 9.1), true);
  assert.equal(rmseRose(null, 50), false);
});

test('judge: a raised RMSE, a pose far from every proposal, or both warn; an ordinary solve does not', () => {
  const ok = judge({ action: 'solve', before: { rmse: 1, pose: pose(0) }, after: { rmse: 0.4, pose: pose(5) }, proposals });
  assert.deepEqual([ok.warn, ok.text], [false, '']);
  const rose = judge({ action: 'snap', before: { rmse: 0.5, pose: pose(0) }, after: { rmse: 6, pose: pose(3) }, proposals });
  assert.deepEqual(rose.reasons, ['rmse']);
  assert.match(rose.text, /^Snap raised the pins' error from 0\.50 to 6\.00 px/);
  const far = judge({ action: 'solve', before: { rmse: null, pose: pose(5) }, after: { rmse: 0.1, pose: pose(40) }, proposals });
  assert.deepEqual(far.reasons, ['far']);
  assert.match(far.text, /30° from the nearest proposal/);
  const both = judge({ action: 'proposal', before: { rmse: 1, pose: pose(0) }, after: { rmse: 9, pose: pose(-30) }, proposals });
  assert.deepEqual(both.reasons, ['rmse', 'far']);
  // already far and not moving farther: no new warning; no proposals: never far
  assert.equal(judge({ action: 'solve', before: { rmse: 1, pose: pose(40) }, after: { rmse: 1, pose: pose(40.5) }, proposals }).warn, false);
  assert.equal(judge({ action: 'solve', before: { rmse: 1, pose: pose(0) }, after: { rmse: 1, pose: pose(90) } }).warn, false);
  assert.equal(nearestProposalDegrees([], pose(3).R), Infinity);
  assert.ok(Math.abs(nearestProposalDegrees(proposals, pose(14).R) - 4) < 1e-9);
});

test('a save sends pins that match the pose; a correction refuses ones that do not, others go without them', () => {
  assert.equal(pinsAgree(0, 99, 0), true);
  assert.equal(pinsAgree(5, 1.4, 0.5), true);
  assert.equal(pinsAgree(5, 1.6, 0.5), false);
  assert.equal(pinsAgree(5, 9, 8), true); // within a quarter of a large solved error
  assert.equal(savePlan('corrected', true), 'send');
  assert.equal(savePlan('corrected', false), 'refuse');
  assert.equal(savePlan('accepted', false), 'refuse');
  assert.equal(savePlan('draft', false), 'drop');
  assert.equal(savePlan('skipped', false), 'drop');
});

test('the readout: before → after', () => {
  assert.equal(rmseChange(null, 0, 0), '–');
  assert.equal(rmseChange(null, 1.234, 1), '1.23 px');
  assert.equal(rmseChange(12.5, 0.4, 3), '12.50 → 0.40 px');
});

test("the server's limit: mm on the head at its depth, at least the floor in px", () => {
  const K = [640, 0, 319.5, 0, 640, 239.5, 0, 0, 1];
  assert.equal(serverLimitPx(K, [0, 0, 640]), SERVER_LIMIT_MM); // 1 px per mm
  assert.equal(serverLimitPx(K, [0, 0, 6400]), Math.max(SERVER_FLOOR_PX, SERVER_LIMIT_MM / 10));
  assert.equal(serverLimitPx(K, [0, 0, 64000]), SERVER_FLOOR_PX);
});
