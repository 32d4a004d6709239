// face_queue.js: the faces the labeling page fetches (and claims) ahead. The
// server is a fake next endpoint over a list of faces that leaves out what the
// page says it holds (`exclude`), as annotator/labeling/queue.next_face does.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FaceQueue, finishesFace } from '../../static/js/editor/face_queue.js';

const TTL_S = 1800;

class FakeNext {
  constructor(ids) {
    this.open = [...ids]; // not finished, not handed to anyone else
    this.done = 0;
    this.calls = [];
    this.held = []; // answers that wait for release()
    this.hold = false;
  }

  /** The endpoint: the first open face not in `exclude`. */
  fetch = async (exclude) => {
    this.calls.push([...exclude]);
    if (this.hold) await new Promise((resolve) => this.held.push(resolve));
    const id = this.open.find((f) => !exclude.includes(f)) ?? null;
    const progress = { done: this.done, remaining: this.open.length, total: this.done + this.open.length };
    return { face_id: id, url: id === null ? '/label/datasets/lab/' : `/label/faces/${id}/`, claim_ttl_s: TTL_S, progress,
      state: id === null ? null : { face: { id } } };
  };

  finish(id) { this.open = this.open.filter((f) => f !== id); this.done += 1; }

  release() { this.held.splice(0).forEach((resolve) => resolve()); }
}

const clock = () => { const c = { t: 0, now: () => c.t }; return c; };
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('FaceQueue', () => {
  test('keeps `depth` faces ahead, never asking for one the page holds', async () => {
    const server = new FakeNext([1, 2, 3, 4, 5]);
    const faces = new FaceQueue({ depth: 2 });
    faces.show(1);
    const prepared = [];
    await faces.fill(server.fetch, (entry) => { prepared.push(entry.id); return `image ${entry.id}`; });
    assert.deepEqual(faces.ahead.map((e) => e.id), [2, 3]);
    assert.deepEqual(server.calls, [[1], [1, 2]]);
    assert.deepEqual(prepared, [2, 3]);
    assert.equal(faces.ahead[0].ready, 'image 2');
    assert.equal(faces.wants(), false);
    await faces.fill(server.fetch);
    assert.equal(server.calls.length, 2); // full: nothing asked
  });

  test('after a save the next face comes from ahead; the queue refills behind it', async () => {
    const server = new FakeNext([1, 2, 3, 4]);
    const faces = new FaceQueue({ depth: 1 });
    faces.show(1);
    await faces.fill(server.fetch);
    server.finish(1);
    const next = await faces.next(server.fetch);
    assert.equal(next.entry.id, 2);
    assert.deepEqual(next.stale, []);
    assert.equal(faces.current, 2); // taken: a request sent while it is drawn leaves it out
    assert.deepEqual(faces.held(), [2]);
    await faces.fill(server.fetch);
    assert.deepEqual(server.calls.at(-1), [2]);
    assert.deepEqual(faces.ahead.map((e) => e.id), [3]);
  });

  test('a face whose save is still on its way stays in `exclude` until the save ends', async () => {
    const server = new FakeNext([1, 2, 3, 4]);
    const faces = new FaceQueue({ depth: 1 });
    faces.show(1);
    const ended = faces.savingFace(1); // A pressed: the next face is shown at once, the save goes on
    const next = await faces.next(server.fetch);
    assert.equal(next.entry.id, 2);
    assert.deepEqual(server.calls.at(-1), [1], 'asked leaving out the face being saved');
    await faces.fill(server.fetch);
    assert.deepEqual(server.calls.at(-1), [2, 1], 'not yet finished on the server: not handed back');
    assert.deepEqual(faces.ahead.map((e) => e.id), [3]);
    ended();
    ended(); // once only
    assert.deepEqual(faces.held(), [2, 3]);
  });

  test('a save while the face ahead is on its way waits for it rather than asking twice', async () => {
    const server = new FakeNext([1, 2, 3]);
    const faces = new FaceQueue({ depth: 1 });
    faces.show(1);
    server.hold = true;
    const filling = faces.fill(server.fetch);
    await settle();
    const next = faces.next(server.fetch);
    await settle();
    server.release();
    assert.equal((await next).entry.id, 2);
    await filling;
    assert.equal(server.calls.length, 1);
  });

  test('with nothing ahead it asks at once; nothing left gives the server\'s page', async () => {
    const server = new FakeNext([1]);
    const faces = new FaceQueue({ depth: 1 });
    faces.show(1);
    await faces.fill(server.fetch);
    assert.equal(faces.exhausted, true);
    assert.equal(faces.wants(), false);
    server.finish(1);
    const next = await faces.next(server.fetch); // asked again, even though the last answer was "none"
    assert.equal(next.entry, null);
    assert.equal(next.url, '/label/datasets/lab/');
  });

  test('a face whose claim is near its end is not shown: it is given back and another asked for', async () => {
    const c = clock();
    const server = new FakeNext([1, 2, 3]);
    const faces = new FaceQueue({ depth: 1, now: c.now, margin: 0.8 });
    faces.show(1);
    await faces.fill(server.fetch);
    c.t = 0.8 * TTL_S * 1000; // 80 % of the claim's life: another annotator may soon be handed it
    server.finish(1);
    server.open = server.open.filter((f) => f !== 2); // (its claim ran out; the server hands the next)
    const next = await faces.next(server.fetch);
    assert.deepEqual(next.stale, [2]);
    assert.equal(next.entry.id, 3);
  });

  test('the history: a face shown through Back leaves what is ahead alone; one shown from ahead leaves it', async () => {
    const server = new FakeNext([1, 2, 3]);
    const faces = new FaceQueue({ depth: 2 });
    faces.show(2);
    await faces.fill(server.fetch);
    assert.deepEqual(faces.ahead.map((e) => e.id), [1, 3]);
    faces.show(7); // Back, to a face finished before
    assert.deepEqual(faces.held(), [7, 1, 3]);
    faces.show(3);
    assert.deepEqual(faces.ahead.map((e) => e.id), [1]);
  });

  test('an answer naming a face the page holds by then adds nothing', async () => {
    const server = new FakeNext([1, 2]);
    const faces = new FaceQueue({ depth: 1 });
    faces.show(1);
    server.hold = true;
    const filling = faces.fill(server.fetch);
    await settle();
    faces.show(2); // Forward to it meanwhile
    server.release();
    await filling;
    assert.deepEqual(faces.ahead, []);
  });

  test('closing the page gives back every face ahead', async () => {
    const server = new FakeNext([1, 2, 3]);
    const faces = new FaceQueue({ depth: 2 });
    faces.show(1);
    await faces.fill(server.fetch);
    assert.deepEqual(faces.dropAll(), [2, 3]);
    assert.deepEqual(faces.ahead, []);
    assert.deepEqual(faces.dropAll(), []);
  });

  test('a failed request rejects fill and keeps what is ahead; the next try asks again', async () => {
    const faces = new FaceQueue({ depth: 2 });
    faces.show(1);
    let fail = false;
    const server = new FakeNext([1, 2, 3]);
    const fetch = (exclude) => (fail ? Promise.reject(new Error('offline')) : server.fetch(exclude));
    await faces.fill(fetch).catch(() => {});
    faces.depth = 3;
    fail = true;
    await assert.rejects(faces.fill(fetch), /offline/);
    assert.deepEqual(faces.ahead.map((e) => e.id), [2, 3]);
    assert.equal(faces.fetching, null);
    fail = false;
    await faces.fill(fetch);
    assert.equal(faces.exhausted, true);
  });
});

describe('progress', () => {
  test('moves with each face finished here, from the newest reading', async () => {
    const server = new FakeNext([1, 2, 3, 4]);
    const faces = new FaceQueue({ depth: 1 });
    faces.show(1);
    faces.noteProgress({ done: 0, remaining: 4, total: 4 });
    await faces.fill(server.fetch);
    faces.saveStarted();
    server.finish(1);
    faces.finished();
    faces.saveEnded();
    assert.deepEqual(faces.progress(), { done: 1, remaining: 3, total: 4 });
    await faces.next(server.fetch);
    await faces.fill(server.fetch); // a reading that counts the save: the same figures
    assert.deepEqual(faces.progress(), { done: 1, remaining: 3, total: 4 });
  });

  test('a reading asked while a finishing save is on its way is set aside (it may or may not count it)', async () => {
    const server = new FakeNext([1, 2, 3, 4]);
    const faces = new FaceQueue({ depth: 2 });
    faces.show(1);
    faces.noteProgress({ done: 0, remaining: 4, total: 4 });
    server.hold = true;
    const filling = faces.fill(server.fetch);
    await settle();
    faces.saveStarted(); // the save of face 1 while the request is out
    server.finish(1); // the server counts it...
    server.hold = false;
    server.release();
    await settle();
    faces.finished(); // ...and its answer comes after
    faces.saveEnded();
    await filling;
    assert.deepEqual(faces.progress(), { done: 1, remaining: 3, total: 4 }); // not 2
  });

  test('others\' work shows at the next clean reading', () => {
    const faces = new FaceQueue();
    faces.noteProgress({ done: 3, remaining: 10, total: 13 });
    faces.finished();
    assert.deepEqual(faces.progress(), { done: 4, remaining: 9, total: 13 });
    faces.noteProgress({ done: 4, remaining: 6, total: 10 }, faces.ticket());
    assert.deepEqual(faces.progress(), { done: 4, remaining: 6, total: 10 });
    assert.equal(new FaceQueue().progress(), null);
  });

  test('finishesFace: a first finishing save, or one after a rejection', () => {
    assert.equal(finishesFace(null, 'accepted'), true);
    assert.equal(finishesFace('draft', 'skipped'), true);
    assert.equal(finishesFace('draft', 'draft'), false);
    assert.equal(finishesFace('accepted', 'corrected'), false);
    assert.equal(finishesFace('accepted', 'corrected', true), true);
    assert.equal(finishesFace(null, 'flagged'), true);
  });
});
