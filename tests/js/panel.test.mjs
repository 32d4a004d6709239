// panel.js's nudges (the DOM parts are exercised in Chromium by the labeling and review page tests).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPoseField, nudges } from '../../static/js/editor/panel.js';
import { eulerToMatrix, matrixToEuler } from '../../static/js/editor/pose.js';
import { assertClose } from './helpers.mjs';

function fakeEditor(euler, t) {
  return { pose: { R: eulerToMatrix(...euler), t }, set(pose) { this.pose = pose; }, ...nudges };
}

test('nudgeEuler changes one Euler angle by the step and leaves t alone', () => {
  for (const axis of [0, 1, 2]) {
    const editor = fakeEditor([12, -7, 4], [1, 2, 700]);
    editor.nudgeEuler(axis, 5);
    const expected = [12, -7, 4];
    expected[axis] += 5;
    assertClose(matrixToEuler(editor.pose.R), expected, 1e-9, `axis ${axis}`);
    assertClose(editor.pose.t, [1, 2, 700], 0);
  }
});

test('nudgeT moves along one camera axis in mm and leaves R alone', () => {
  const editor = fakeEditor([12, -7, 4], [1, 2, 700]);
  const R = editor.pose.R.slice();
  editor.nudgeT(2, -10);
  assertClose(editor.pose.t, [1, 2, 690], 0);
  assertClose(editor.pose.R, R, 0);
});

test('nudgeT in depth stops at the depth limits the page config gives', () => {
  const editor = fakeEditor([0, 0, 0], [1, 2, 206]);
  editor.depthLimits = { safe_depth_mm: 204, max_depth_mm: 5000 };
  editor.nudgeT(2, -10);
  assertClose(editor.pose.t, [1, 2, 204], 0);
  editor.pose.t = [1, 2, 4995];
  editor.nudgeT(2, 10);
  assertClose(editor.pose.t, [1, 2, 5000], 0);
  editor.nudgeT(0, -10); // sideways is free
  assertClose(editor.pose.t, [-9, 2, 5000], 0);
});

test('checkPoseField: typed values are checked against the pose rules, with the reason', () => {
  const limits = { safe_depth_mm: 204, max_depth_mm: 5000 };
  const ok = (name, text, extra = {}) => assert.equal(checkPoseField(name, text, { currentZ: 700, limits, ...extra }), '');
  const bad = (name, text, pattern, extra = {}) =>
    assert.match(checkPoseField(name, text, { currentZ: 700, limits, ...extra }), pattern);
  ok('yaw', '-180'); ok('yaw', '179.5'); ok('pitch', '90'); ok('roll', '12.5'); ok('tx', '-4999'); ok('tz', '204');
  ok('tz', '5000');
  bad('yaw', '181', /Yaw must be between -180° and 180°/);
  bad('pitch', '-90.5', /Pitch must be between -90° and 90°/);
  bad('roll', '', /Type a number/);
  bad('tz', 'abc', /Type a number/);
  bad('tz', '-50', /more than 0 mm: the head has to be in front of the camera/);
  bad('tz', '0', /more than 0 mm/);
  bad('tz', '150', /at least 204 mm: nearer, part of the head could be behind the camera/);
  bad('tz', '5001', /at most 5000 mm/);
  bad('ty', '6000', /y must be within ±5000 mm/);
  // a close-up already nearer than the safe depth may stay there or go farther, never nearer (as clampDepth)
  ok('tz', '150', { currentZ: 150 });
  ok('tz', '180', { currentZ: 150 });
  bad('tz', '140', /at least 150 mm/, { currentZ: 150 });
  // without the page's limits: only the hard rules (z > 0, 10 m)
  assert.equal(checkPoseField('tz', '60', {}), '');
  assert.match(checkPoseField('tz', '10001', {}), /at most 10000 mm/);
});
