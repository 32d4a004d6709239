// active_time.js: seconds the page was visible and in use.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ActiveTime, IDLE_MS } from '../../static/js/editor/active_time.js';
import { FakeTimers } from './helpers.mjs';

function clock({ visible = true } = {}) {
  const timers = new FakeTimers();
  const page = { visible };
  const time = new ActiveTime({ now: () => timers.now, isVisible: () => page.visible });
  time.start(timers.setInterval);
  return { timers, page, time };
}

test('counts one second per second while visible and in use', async () => {
  const { timers, time } = clock();
  await timers.advance(10000);
  assert.equal(time.seconds, 10);
});

test('stops counting two minutes after the last input, and starts again on input', async () => {
  const { timers, time } = clock();
  await timers.advance(IDLE_MS + 30000);
  assert.equal(time.seconds, IDLE_MS / 1000 - 1); // the tick at exactly two minutes is already idle
  time.input();
  await timers.advance(5000);
  assert.equal(time.seconds, IDLE_MS / 1000 - 1 + 5);
});

test('does not count while the page is hidden', async () => {
  const { timers, page, time } = clock();
  await timers.advance(3000);
  page.visible = false;
  await timers.advance(20000);
  page.visible = true;
  time.input();
  await timers.advance(2000);
  assert.equal(time.seconds, 5);
});

test('take() hands over the uncounted seconds once; giveBack() returns them', async () => {
  const { timers, time } = clock();
  await timers.advance(7000);
  assert.equal(time.take(), 7);
  assert.equal(time.take(), 0);
  await timers.advance(2000);
  time.giveBack(7);
  assert.equal(time.take(), 9);
});
