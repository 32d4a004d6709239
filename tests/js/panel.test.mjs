// panel.js's nudges (the DOM parts are exercised in Chromium by the labeling and review page tests).
import { test } from 'node:test';
import { nudges } from '../../static/js/editor/panel.js';
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
