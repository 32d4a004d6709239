// api.js: JSON requests over an injected fetch, answered with real Response objects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConflictError, RequestError, jsonRequester } from '../../static/js/editor/api.js';

function answering(status, body, contentType = 'application/json') {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers: { 'Content-Type': contentType } });
  };
  return { calls, request: jsonRequester(fetch, () => 'csrf-123') };
}

test('a GET asks for JSON and carries no token or body', async () => {
  const { calls, request } = answering(200, { ok: 1 });
  assert.deepEqual(await request('/x/'), { ok: 1 });
  assert.equal(calls[0].url, '/x/');
  assert.deepEqual(calls[0].init, { method: 'GET', headers: { Accept: 'application/json' }, credentials: 'same-origin', body: undefined });
});

test('a write sends its body as JSON with the CSRF token', async () => {
  const { calls, request } = answering(201, { version: 1 });
  assert.deepEqual(await request('/save/', { method: 'PUT', body: { t: [0, 0, 700] } }), { version: 1 });
  const { init } = calls[0];
  assert.equal(init.method, 'PUT');
  assert.equal(init.headers['Content-Type'], 'application/json');
  assert.equal(init.headers['X-CSRFToken'], 'csrf-123');
  assert.deepEqual(JSON.parse(init.body), { t: [0, 0, 700] });
});

test('a 409 is a ConflictError carrying both versions', async () => {
  const detail = 'This annotation was saved elsewhere (now version 4, you had 3).';
  const { request } = answering(409, { detail, code: 'version_conflict', current_version: 4, expected_version: 3 });
  const err = await request('/save/', { method: 'PUT', body: {} }).then(() => null, (e) => e);
  assert.ok(err instanceof ConflictError);
  assert.equal(err.message, detail);
  assert.equal(err.currentVersion, 4);
  assert.equal(err.expectedVersion, 3);
  const bare = await answering(409, 'conflict', 'text/plain').request('/save/', { method: 'PUT' }).then(() => null, (e) => e);
  assert.ok(bare instanceof ConflictError);
  assert.equal(bare.message, 'This label was saved elsewhere.');
});

test('other errors are RequestErrors that say what the server said', async () => {
  const fail = (status, body, type) => answering(status, body, type).request('/save/', { method: 'PUT', body: {} }).then(() => null, (e) => e);
  const invalid = await fail(400, { R: ['must be a rotation'], t: ['z must be > 0', 'too far'] });
  assert.ok(invalid instanceof RequestError);
  assert.equal(invalid.status, 400);
  assert.equal(invalid.message, 'R: must be a rotation; t: z must be > 0 too far');
  assert.equal((await fail(403, { detail: 'Not yours.' })).message, 'Not yours.');
  assert.equal((await fail(502, '<html>Bad gateway</html>', 'text/html')).message, 'The server answered 502.');
});

test('a 2xx without a JSON body resolves with null', async () => {
  assert.equal(await answering(200, '', 'text/plain').request('/x/', { method: 'POST' }), null);
});
