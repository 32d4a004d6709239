// save_queue.js: serialized saves with optimistic locking, autosave of drafts,
// time spent, failures. The server is a fake fetch that keeps a version the
// way annotator/services.py does (409 when expected_version is stale).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ActiveTime } from '../../static/js/editor/active_time.js';
import { ConflictError, NetworkError, RequestError, jsonRequester } from '../../static/js/editor/api.js';
import { clonePose, eulerToMatrix } from '../../static/js/editor/pose.js';
import { SaveQueue } from '../../static/js/editor/save_queue.js';
import { FakeTimers, settle } from './helpers.mjs';

const AUTOSAVE_MS = 1000;
const pose = (yaw, tz = 700) => ({ R: eulerToMatrix(yaw, -5, 3), t: [10, -5, tz] });
const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

class FakeServer {
  constructor(version) {
    this.version = version;
    this.calls = [];
    this.inFlight = 0;
    this.mostInFlight = 0;
    this.toHold = 0; // the next requests whose answers wait for release()
    this.waiting = [];
    this.answer = null; // (body) => Response or throw, instead of the default
    this.fetch = (url, init) => this.handle(url, init);
  }

  async handle(url, init) {
    const body = JSON.parse(init.body);
    this.calls.push({ url, init, body });
    this.inFlight += 1;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    try {
      if (this.toHold > 0) {
        this.toHold -= 1;
        await new Promise((resolve) => this.waiting.push(resolve));
      }
      if (this.answer) return this.answer(body);
      if (body.expected_version !== this.version) {
        return json(409, {
          detail: `This annotation was saved elsewhere (now version ${this.version}, you had ${body.expected_version}).`,
          code: 'version_conflict', current_version: this.version, expected_version: body.expected_version,
        });
      }
      this.version += 1;
      return json(this.version === 1 ? 201 : 200, { version: this.version, status: body.status });
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Let the oldest held request answer. */
  async release() {
    await settle();
    this.waiting.shift()();
    await settle();
  }
}

/** A queue for a face whose stored label is `annotation` (null: none yet). */
function page({ annotation = null, autosave = true } = {}) {
  const initial = pose(15);
  const timers = new FakeTimers();
  const server = new FakeServer(annotation ? annotation.version : 0);
  const shown = { pose: clonePose(initial), autosave, pins: [] };
  const seen = { states: [], edits: 0, saved: [], failures: [] };
  const activeTime = new ActiveTime({ now: () => timers.now, isVisible: () => true });
  activeTime.start(timers.setInterval);
  const queue = new SaveQueue({
    request: jsonRequester(server.fetch, () => 'token'),
    state: { annotation, initial, reference: { origin: { proposal_id: 7 } } },
    url: '/label/faces/1/save/',
    getPose: () => clonePose(shown.pose),
    getLandmarkPins: () => shown.pins,
    activeTime,
    autosaveMs: AUTOSAVE_MS,
    autosaveChecked: () => shown.autosave,
    timers,
    onState: (text, kind) => seen.states.push([text, kind]),
    onEdit: () => { seen.edits += 1; },
    onSaved: (body) => seen.saved.push(body),
    onFailure: (err) => seen.failures.push(err),
  });
  const lastState = () => seen.states.at(-1);
  /** What the page does on a committed change. */
  const move = (p) => { shown.pose = p; queue.changed(); };
  return { queue, server, timers, shown, seen, lastState, move, activeTime };
}

describe('saving', () => {
  test('a save sends the shown pose, the version it builds on and the page facts', async () => {
    const { queue, server, shown, seen, lastState } = page();
    shown.pose = pose(20, 650);
    shown.pins = [{ index: 36, x: 101.5, y: 88 }];
    const body = await queue.save({ status: 'flagged', flag_reason: 'occluded', note: 'hand' });
    assert.deepEqual(body, { version: 1, status: 'flagged' });
    const [call] = server.calls;
    assert.equal(call.url, '/label/faces/1/save/');
    assert.equal(call.init.method, 'PUT');
    assert.equal(call.init.headers['X-CSRFToken'], 'token');
    assert.deepEqual(call.body, {
      R: pose(20).R, t: [10, -5, 650], status: 'flagged', expected_version: 0, time_spent_s: 0,
      flag_reason: 'occluded', note: 'hand', proposal_id: 7, landmark_pins: [{ index: 36, x: 101.5, y: 88 }],
    });
    assert.deepEqual(queue.saved, { version: 1, status: 'flagged', pose: pose(20, 650) });
    assert.deepEqual(seen.states, [['saving…', 'pending'], ['saved · v1', 'ok']]);
    assert.deepEqual(seen.saved, [body]);
    assert.ok(!queue.dirty());
    assert.deepEqual(lastState(), ['saved · v1', 'ok']);
  });

  test('defaults: status corrected, empty reason and note; a draft says so', async () => {
    const { queue, server, seen } = page({ annotation: { version: 3, status: 'draft' } });
    await queue.save();
    assert.equal(server.calls[0].body.status, 'corrected');
    assert.equal(server.calls[0].body.expected_version, 3);
    assert.equal(server.calls[0].body.flag_reason, '');
    assert.equal(server.calls[0].body.note, '');
    await queue.save({ status: 'draft' });
    assert.deepEqual(seen.states.at(-1), ['draft saved · v5', 'ok']);
  });

  test('saves run one at a time, each with the version the previous one produced', async () => {
    const { queue, server, shown } = page({ annotation: { version: 2, status: 'draft' } });
    server.toHold = 3;
    shown.pose = pose(1);
    const first = queue.save({ status: 'draft' });
    const second = queue.save({ status: 'draft' });
    const third = queue.save({ status: 'corrected' });
    await settle();
    assert.equal(server.calls.length, 1, 'the second save waits for the first answer');
    shown.pose = pose(2); // each save sends the pose shown when its turn comes
    await server.release();
    assert.equal(server.calls.length, 2);
    await server.release();
    await server.release();
    assert.deepEqual(await Promise.all([first, second, third]).then((bodies) => bodies.map((b) => b.version)), [3, 4, 5]);
    assert.equal(server.mostInFlight, 1);
    assert.deepEqual(server.calls.map((c) => c.body.expected_version), [2, 3, 4]);
    assert.deepEqual(server.calls.map((c) => c.body.t[2]), [700, 700, 700]);
    assert.deepEqual(server.calls.map((c) => c.body.R), [pose(1).R, pose(2).R, pose(2).R]);
    assert.deepEqual(queue.saved.version, 5);
    assert.equal(queue.saved.status, 'corrected');
  });

  test('a 409 reports the conflict with the current version and stops the queue until load()', async () => {
    const { queue, server, seen, shown, move, timers } = page({ annotation: { version: 1, status: 'draft' } });
    server.version = 2; // another tab saved meanwhile
    server.toHold = 1;
    const stale = queue.save();
    const behind = queue.save({ status: 'draft' });
    await server.release();
    const err = await stale.then(() => null, (e) => e);
    assert.ok(err instanceof ConflictError);
    assert.equal(err.currentVersion, 2);
    assert.equal(err.expectedVersion, 1);
    assert.match(err.message, /now version 2/);
    assert.equal(await behind.then(() => null, (e) => e), err, 'the save queued behind it is refused');
    assert.equal(await queue.save().then(() => null, (e) => e), err, 'and so is a later one');
    assert.equal(server.calls.length, 1, 'nothing more was sent');
    assert.deepEqual(seen.failures, [err, err, err]);
    assert.deepEqual(seen.states.at(-1), ['not saved', 'bad']);
    assert.equal(queue.saved.version, 1);
    // edits wait for the user: no autosave while in conflict, and leaving warns
    move(pose(30));
    assert.deepEqual(seen.states.at(-1), ['unsaved changes', 'dirty']);
    await timers.advance(10 * AUTOSAVE_MS);
    assert.equal(server.calls.length, 1);
    assert.ok(queue.wouldLoseEdits());
    // the page loads the other version; saves build on it
    queue.load({ annotation: { version: 2, status: 'corrected' }, initial: pose(-20), reference: {} });
    assert.deepEqual(queue.saved, { version: 2, status: 'corrected', pose: pose(-20) });
    shown.pose = pose(-20);
    assert.ok(!queue.dirty());
    assert.equal((await queue.save()).version, 3);
    assert.equal(server.calls.at(-1).body.expected_version, 2);
  });

  test('a save that gets no answer is retried with backoff, the countdown shown, until it is stored', async () => {
    const { queue, server, seen, timers, shown, move } = page({ annotation: { version: 4, status: 'draft' } });
    server.answer = () => { throw new TypeError('Failed to fetch'); }; // the network is down
    let result = null;
    queue.save({ status: 'accepted' }).then((body) => { result = body; });
    await settle();
    assert.equal(server.calls.length, 1);
    assert.ok(seen.failures[0] instanceof NetworkError, 'fetch\'s TypeError becomes a NetworkError');
    assert.deepEqual(seen.states.at(-1), ['retrying in 1 s', 'retry']);
    assert.ok(queue.wouldLoseEdits(), 'leaving now would lose the save');
    await timers.advance(1000);
    assert.equal(server.calls.length, 2, 'retry 1 after 1 s');
    assert.deepEqual(seen.states.at(-1), ['retrying in 2 s', 'retry']);
    await timers.advance(2000);
    assert.equal(server.calls.length, 3, 'retry 2 after 2 s more');
    assert.deepEqual(seen.states.slice(-2), [['saving… (try 3)', 'pending'], ['retrying in 4 s', 'retry']]);
    await timers.advance(1000);
    assert.deepEqual(seen.states.at(-1), ['retrying in 3 s', 'retry'], 'the countdown ticks each second');
    // a change meanwhile: no autosave of its own, the retry sends it; the countdown stays shown
    move(pose(40, 720));
    assert.deepEqual(seen.states.at(-1), ['retrying in 3 s', 'retry']);
    server.answer = null; // back online
    queue.retryNow();
    await settle();
    await settle();
    assert.equal(server.calls.length, 4);
    assert.deepEqual(result, { version: 5, status: 'accepted' });
    assert.deepEqual(server.calls.map((c) => c.body.expected_version), [4, 4, 4, 4]);
    assert.deepEqual(server.calls.at(-1).body.R, pose(40).R, 'the pose shown when the retry went');
    assert.deepEqual(queue.saved, { version: 5, status: 'accepted', pose: clonePose(shown.pose) });
    assert.deepEqual(seen.states.at(-1), ['saved · v5', 'ok']);
    assert.ok(!queue.wouldLoseEdits());
    await timers.advance(120000);
    assert.equal(server.calls.length, 4, 'nothing more is sent');
  });

  test('busy() until every save asked for has ended; idle() resolves then', async () => {
    const { queue, server } = page();
    server.toHold = 1;
    assert.ok(!queue.busy());
    const first = queue.save({ status: 'accepted' });
    const second = queue.save({ status: 'accepted' });
    let idle = false;
    queue.idle().then(() => { idle = true; });
    await settle();
    assert.ok(queue.busy() && !idle);
    await server.release();
    await Promise.all([first, second]);
    await settle();
    assert.ok(!queue.busy() && idle);
  });

  test('a server error (5xx) is retried; the delay doubles up to 30 s', async () => {
    const { queue, server, timers, seen } = page({ annotation: { version: 1, status: 'draft' } });
    server.answer = () => json(503, { detail: 'The database is unavailable.', code: 'database_unavailable' });
    const saving = queue.save();
    await settle();
    for (const wait of [1000, 2000, 4000, 8000, 16000, 30000, 30000]) {
      const before = server.calls.length;
      await timers.advance(wait - 1);
      assert.equal(server.calls.length, before, `not before ${wait} ms`);
      await timers.advance(1);
      assert.equal(server.calls.length, before + 1, `after ${wait} ms`);
    }
    assert.ok(seen.failures.every((e) => e instanceof RequestError && e.status === 503));
    server.answer = null;
    await timers.advance(30000);
    assert.equal((await saving).version, 2);
  });

  test('a refused save (400) reports what the server said and keeps the version', async () => {
    const { queue, server, seen } = page({ annotation: { version: 4, status: 'corrected' } });
    server.answer = () => json(400, { t: ['z must be > 0'] });
    const err = await queue.save().then(() => null, (e) => e);
    assert.ok(err instanceof RequestError);
    assert.equal(seen.failures[0].message, 't: z must be > 0');
    assert.equal(queue.saved.version, 4);
    assert.ok(!queue.conflict, 'only a 409 stops the queue');
  });
});

describe('autosave', () => {
  test('drafts save a moment after the last change (debounced)', async () => {
    const { server, timers, move, seen } = page();
    move(pose(1));
    assert.deepEqual(seen.states.at(-1), ['draft pending…', 'pending']);
    await timers.advance(AUTOSAVE_MS - 100);
    move(pose(2)); // restarts the delay
    await timers.advance(AUTOSAVE_MS - 100);
    move(pose(3));
    await timers.advance(AUTOSAVE_MS - 1);
    assert.equal(server.calls.length, 0);
    await timers.advance(1);
    assert.equal(server.calls.length, 1);
    assert.equal(server.calls[0].body.status, 'draft');
    assert.deepEqual(server.calls[0].body.R, pose(3).R);
    assert.deepEqual(seen.states.at(-1), ['draft saved · v1', 'ok']);
    assert.equal(seen.edits, 3, 'each change clears the error banner');
    move(pose(4)); // still a draft: autosave goes on
    await timers.advance(AUTOSAVE_MS);
    assert.equal(server.calls.length, 2);
  });

  test('a finished label, or autosave switched off, waits for an explicit save', async () => {
    for (const setup of [{ annotation: { version: 2, status: 'accepted' } }, { autosave: false }]) {
      const { server, timers, move, seen, queue } = page(setup);
      move(pose(9));
      assert.deepEqual(seen.states.at(-1), ['unsaved changes', 'dirty']);
      await timers.advance(10 * AUTOSAVE_MS);
      assert.equal(server.calls.length, 0);
      assert.ok(queue.dirty());
    }
  });

  test('an explicit save cancels the pending autosave', async () => {
    const { queue, server, timers, move } = page();
    move(pose(1));
    await queue.save({ status: 'corrected' });
    await timers.advance(10 * AUTOSAVE_MS);
    assert.deepEqual(server.calls.map((c) => c.body.status), ['corrected']);
  });

  test('a change made while a draft was on its way is autosaved after it', async () => {
    const { queue, server, timers, shown, seen } = page();
    server.toHold = 1;
    const first = queue.save({ status: 'draft' });
    await settle();
    shown.pose = pose(33); // dragging while the request is out
    await server.release();
    await first;
    assert.deepEqual(seen.states.slice(-2), [['draft saved · v1', 'ok'], ['draft pending…', 'pending']]);
    await timers.advance(AUTOSAVE_MS);
    assert.equal(server.calls.length, 2);
    assert.deepEqual(server.calls[1].body.R, pose(33).R);
    assert.equal(server.calls[1].body.expected_version, 1);
  });
});

describe('time spent', () => {
  test('each save sends the active seconds since the previous one', async () => {
    const { queue, server, timers } = page();
    await timers.advance(12000);
    await queue.save({ status: 'draft' });
    await timers.advance(5000);
    await queue.save({ status: 'draft' });
    assert.deepEqual(server.calls.map((c) => c.body.time_spent_s), [12, 5]);
  });

  test('seconds of a save that failed count with the next save, conflicts included', async () => {
    const { queue, server, timers } = page({ annotation: { version: 1, status: 'draft' } });
    await timers.advance(8000);
    server.answer = () => json(400, { t: ['z must be > 0'] });
    await queue.save().catch(() => {});
    await timers.advance(3000);
    server.answer = null;
    server.version = 2;
    await queue.save().catch(() => {}); // 409
    await queue.save().catch(() => {}); // refused while in conflict
    await timers.advance(1000);
    queue.load({ annotation: { version: 2, status: 'draft' }, initial: pose(0), reference: {} });
    await queue.save();
    assert.deepEqual(server.calls.map((c) => c.body.time_spent_s), [8, 11, 12]);
  });
});

describe('leaving the page', () => {
  test('warns only when a stored label has a change autosave will not save', () => {
    const fresh = page();
    fresh.shown.pose = pose(3);
    assert.ok(fresh.queue.dirty() && !fresh.queue.wouldLoseEdits(), 'nothing stored yet');
    const draft = page({ annotation: { version: 1, status: 'draft' } });
    assert.ok(!draft.queue.dirty(), 'the stored pose is the shown one');
    draft.shown.pose = pose(3);
    assert.ok(draft.queue.dirty() && !draft.queue.wouldLoseEdits(), 'autosave will save it');
    draft.shown.autosave = false;
    assert.ok(draft.queue.wouldLoseEdits());
    const done = page({ annotation: { version: 1, status: 'corrected' } });
    done.shown.pose = pose(3);
    assert.ok(done.queue.wouldLoseEdits());
  });
});
