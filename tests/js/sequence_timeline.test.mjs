// static/js/sequence/timeline.js: stepping, playback timing, ticks, keyframes, spikes, the gap chart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  clampPosition, gapPolylines, keyframeSave, nextAfter, playbackPosition, positionAtX, positionsOf,
  spikePositions, step, tickPositions, tickX,
} from '../../static/js/sequence/timeline.js';

const frames = [
  { frame_index: 3, track_label: 'smoothed_proposal' }, { frame_index: 4, track_label: 'keyframe' },
  { frame_index: 7, track_label: 'interpolated' }, { frame_index: 9, track_label: 'keyframe' },
  { frame_index: 10, track_label: null },
];

test('steps of ±1 and ±10 stay inside the sequence', () => {
  assert.equal(step(0, -1, 50), 0);
  assert.equal(step(0, 10, 50), 10);
  assert.equal(step(45, 10, 50), 49);
  assert.equal(step(5, -10, 50), 0);
  assert.equal(clampPosition(2.7, 50), 2);
  assert.equal(clampPosition(3, 0), 0);
});

test('keyframes and spikes are found by position, and the next one after the current frame', () => {
  assert.deepEqual(positionsOf(frames), [1, 3]);
  assert.deepEqual(positionsOf(frames, 'interpolated'), [2]);
  const spikes = spikePositions(frames, [7, 10, 99]);
  assert.deepEqual(spikes, [2, 4]);
  assert.equal(nextAfter(spikes, 0), 2);
  assert.equal(nextAfter(spikes, 2), 4);
  assert.equal(nextAfter(spikes, 4), null);
});

test('playback shows frame start + elapsed * fps and stops at the last frame', () => {
  assert.deepEqual(playbackPosition(0, 0, 25, 100), { position: 0, done: false });
  assert.deepEqual(playbackPosition(0, 40, 25, 100), { position: 1, done: false });
  assert.deepEqual(playbackPosition(10, 1000, 25, 100), { position: 35, done: false });
  assert.deepEqual(playbackPosition(90, 1000, 25, 100), { position: 99, done: true });
  assert.equal(playbackPosition(0, 39.9999999, 25, 100).position, 0);
});

test('ticks: every frame when there is room, else a round stride', () => {
  assert.deepEqual(tickPositions(10, 600), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const many = tickPositions(1000, 600);
  assert.equal(many[1] - many[0], 10); // 0.6 px per frame: every 10th frame is 6 px apart
  assert.equal(tickPositions(1000, 600, 3)[1], 5);
  assert.equal(tickX(0, 10, 600), 30);
  assert.equal(positionAtX(599, 10, 600), 9);
  assert.equal(positionAtX(-5, 10, 600), 0);
  assert.equal(positionAtX(tickX(7, 10, 600), 10, 600), 7);
});

test('the gap chart is broken where a frame has no gap and scaled to its largest gap', () => {
  const { top, lines } = gapPolylines([0, 10, null, 20, 5], 500, 100);
  assert.equal(top, 20);
  assert.equal(lines.length, 2);
  assert.equal(lines[0], '50.0,100.0 150.0,50.0');
  assert.equal(lines[1], '350.0,0.0 450.0,75.0');
  assert.equal(gapPolylines([0.1, 0.2], 100, 10).top, 5); // small gaps do not fill the chart
  assert.deepEqual(gapPolylines([null], 100, 10).lines, []);
});

test('a keyframe is saved through the save API; deleting one saves a draft', () => {
  const frame = { face: 12, R: [1, 0, 0, 0, 1, 0, 0, 0, 1], t: [0, 0, 600], version: 2 };
  assert.deepEqual(keyframeSave(frame), { R: frame.R, t: frame.t, status: 'corrected', expected_version: 2 });
  assert.equal(keyframeSave(frame, { remove: true }).status, 'draft');
  assert.equal(keyframeSave({ ...frame, version: undefined }).expected_version, 0);
  assert.throws(() => keyframeSave({ ...frame, face: null }), /no face/);
  assert.throws(() => keyframeSave({ ...frame, R: null }), /no pose/);
});
