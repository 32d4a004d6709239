// retry.js: when a failed save is tried again, and what the banner says about it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConflictError, NetworkError, RequestError } from '../../static/js/editor/api.js';
import { backoffDelay, describeFailure, isRetryable, retryText } from '../../static/js/editor/retry.js';

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
