// retry.js: when a failed save is tried again, and what the banner says about it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConflictError, NetworkError, RequestError } from '../../static/js/editor/api.js';
import { Retrier, backoffDelay, describeFailure, isRetryable, retryText } from '../../static/js/editor/retry.js';
import { FakeTimers, settle } from './helpers.mjs';

test('the delay doubles from 1 s and stops at 30 s', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffDelay(n)), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(backoffDelay(0), 1000);
  assert.equal(backoffDelay(3, { baseMs: 500, maxMs: 1500 }), 1500);
});

test('only failures that may pass by themselves are retried', () => {
  assert.ok(isRetryable(new NetworkError(new TypeError('Failed to fetch'))));
  for (const status of [408, 429, 500, 502, 503, 504]) assert.ok(isRetryable(new RequestError(status, null)), status);
  for (const status of [400, 401, 403, 404, 413]) assert.ok(!isRetryable(new RequestError(status, {})), status);
  assert.ok(!isRetryable(new ConflictError({ current_version: 3 })));
  assert.ok(!isRetryable(new TypeError('a bug, not the network')));
});

test('the state line counts down in whole seconds', () => {
  assert.equal(retryText(4000), 'retrying in 4 s');
  assert.equal(retryText(3200), 'retrying in 4 s');
  assert.equal(retryText(0), 'retrying in 1 s');
});

test('the banner says what happened and what to do, in plain words', () => {
  const offline = describeFailure(new NetworkError(new TypeError('Failed to fetch')));
  assert.equal(offline.action, 'retry');
  assert.match(offline.text, /cannot be reached.*saved automatically when the connection is back/);
  assert.doesNotMatch(offline.text, /Failed to fetch/);
  const down = describeFailure(new RequestError(503, { detail: 'The database is unavailable.' }));
  assert.equal(down.action, 'retry');
  assert.match(down.text, /busy or down \(503\)/);
  const refused = describeFailure(new RequestError(400, { t: ['the head would cross the camera plane'] }));
  assert.equal(refused.action, 'fix');
  assert.match(refused.text, /refused this save\. It said: t: the head would cross the camera plane Change the pose/);
  const conflict = describeFailure(new ConflictError({ detail: 'x', current_version: 4, expected_version: 3 }));
  assert.equal(conflict.action, 'reload');
  assert.match(conflict.text, /Someone else saved this label \(now version 4\).*"Load their version"/);
  assert.equal(describeFailure(new RequestError(403, { detail: 'no' })).action, 'signin');
});

test('Retrier: a request that fails on the way is tried again after the backoff, counted down; now() hurries it', async () => {
  const timers = new FakeTimers();
  const seen = { waits: [], failures: [] };
  const retrier = new Retrier({ timers, onWait: (t) => seen.waits.push(t), onFailure: (e, how) => seen.failures.push(how) });
  const answers = [new NetworkError(new TypeError('Failed to fetch')), new RequestError(503, null), { ok: 1 }];
  const tries = [];
  const result = retrier.run(async (n) => { tries.push(n); const a = answers.shift(); if (a instanceof Error) throw a; return a; });
  await settle();
  assert.deepEqual(tries, [1]);
  assert.deepEqual(seen.waits, ['retrying in 1 s']);
  assert.ok(retrier.waiting);
  await timers.advance(1000);
  assert.deepEqual(tries, [1, 2]);
  assert.deepEqual(seen.waits.at(-1), 'retrying in 2 s');
  retrier.now(); // "Retry now" / back online
  assert.deepEqual(await result, { ok: 1 });
  assert.deepEqual(tries, [1, 2, 3]);
  assert.deepEqual(seen.failures, [{ retrying: true }, { retrying: true }]);
  assert.equal(retrier.waiting, null);
});

test('Retrier: a refusal or a conflict rejects at once, untried again', async () => {
  const retrier = new Retrier({ timers: new FakeTimers() });
  for (const err of [new RequestError(400, { detail: 'no' }), new ConflictError({ current_version: 3 })]) {
    let tries = 0;
    await assert.rejects(retrier.run(async () => { tries += 1; throw err; }), err);
    assert.equal(tries, 1);
  }
});
