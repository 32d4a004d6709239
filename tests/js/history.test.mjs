// history.js: undo/redo of committed poses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PoseHistory } from '../../static/js/editor/history.js';
import { eulerToMatrix } from '../../static/js/editor/pose.js';

const pose = (yaw, tz = 700) => ({ R: eulerToMatrix(yaw, 0, 0), t: [0, 0, tz] });

test('starts at the initial pose with nothing to undo or redo', () => {
  const h = new PoseHistory(pose(10));
  assert.deepEqual(h.current, pose(10));
  assert.ok(!h.canUndo && !h.canRedo);
  assert.deepEqual(h.undo(), pose(10));
  assert.deepEqual(h.redo(), pose(10));
});

test('undo and redo walk the committed steps', () => {
  const h = new PoseHistory(pose(0));
  assert.equal(h.push(pose(5)), true);
  assert.equal(h.push(pose(5, 650)), true);
  assert.ok(h.canUndo && !h.canRedo);
  assert.deepEqual(h.undo(), pose(5));
  assert.deepEqual(h.undo(), pose(0));
  assert.ok(!h.canUndo && h.canRedo);
  assert.deepEqual(h.redo(), pose(5));
  assert.deepEqual(h.redo(), pose(5, 650));
  assert.ok(!h.canRedo);
});

test('a pose equal to the current one is not a step', () => {
  const h = new PoseHistory(pose(0));
  assert.equal(h.push(pose(0)), false);
  assert.ok(!h.canUndo);
  h.push(pose(1));
  assert.equal(h.push(pose(1)), false);
  h.undo();
  assert.ok(h.canUndo === false && h.canRedo, 'the repeat did not add a step');
});

test('any difference is a step (no tolerance)', () => {
  const h = new PoseHistory(pose(0));
  assert.equal(h.push({ R: pose(0).R, t: [0, 0, 700 + 1e-9] }), true);
});

test('a new step after undo drops the steps that were undone', () => {
  const h = new PoseHistory(pose(0));
  h.push(pose(1));
  h.push(pose(2));
  h.undo();
  h.undo();
  h.push(pose(3));
  assert.ok(!h.canRedo);
  assert.deepEqual(h.undo(), pose(0));
  assert.deepEqual(h.redo(), pose(3));
  assert.ok(!h.canRedo, 'poses 1 and 2 are gone');
});

test('keeps at most `limit` poses, dropping the oldest', () => {
  const h = new PoseHistory(pose(0), 3);
  for (let yaw = 1; yaw <= 5; yaw++) h.push(pose(yaw));
  assert.deepEqual(h.undo(), pose(4));
  assert.deepEqual(h.undo(), pose(3));
  assert.ok(!h.canUndo);
  assert.deepEqual(h.undo(), pose(3));
});

test('stored poses are copies: changing a pose handed in or out changes nothing', () => {
  const start = pose(0);
  const h = new PoseHistory(start);
  start.t[2] = 1;
  const next = pose(5);
  h.push(next);
  next.R[0] = 42;
  const shown = h.current;
  shown.t[0] = 99;
  assert.deepEqual(h.current, pose(5));
  assert.deepEqual(h.undo(), pose(0));
});
