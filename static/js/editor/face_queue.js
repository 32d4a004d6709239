// The labeling page's faces ahead: while the annotator works on one face, the
// next ones are asked for (POST /api/label/datasets/ID/next/ with the faces the
// page holds in `exclude` and `with_state`), each claimed for the annotator
// until its claim runs out, so the page shows them in place without a reload.
// No DOM and no fetch here: main.js hands in the request and what to prepare
// for each face (its image), so the logic runs the same under `node --test`.
//
// An entry: {id, state, fetchedAt (ms, now()), ttlMs (the claim's life), ready
// (what prepare(entry) returned: the image's decoding)}.

/** Label statuses after which a face counts as done for its annotator (labeling/queue.FINISHED). */
export const FINISHED = ['accepted', 'corrected', 'skipped', 'flagged'];

/** A save from `before` (the stored status, null: none; `rejected`: a reviewer
 * sent the label back, so it did not count) to `after` finished the face. */
export function finishesFace(before, after, rejected = false) {
  return FINISHED.includes(after) && (rejected || !FINISHED.includes(before));
}

export class FaceQueue {
  /**
   * depth: how many faces to hold ahead of the shown one;
   * now(): milliseconds (Date.now); margin: the share of a claim's life after
   * which a face fetched ahead is given back rather than shown (another
   * annotator may be handed it once the claim runs out).
   */
  constructor({ depth = 1, now = () => Date.now(), margin = 0.8 } = {}) {
    Object.assign(this, { depth, now, margin });
    this.current = null; // the shown face's id
    this.ahead = []; // entries fetched ahead, in the order to show them
    this.fetching = null; // the request in flight (one at a time)
    this.exhausted = false; // the server had nothing more to hand out
    this.finishes = 0; // faces this page finished (finishesFace)
    this.saving = 0; // finishing saves on their way
    this.epoch = 0; // finishing saves started so far
    this.reading = null; // {progress, sent}: the newest progress from the server, and `finishes` when asked
    this.behind = new Map(); // face id -> its finishing saves still on their way (the face is no longer shown)
  }

  /** The faces the page holds: the shown one, those ahead, and those whose
   * finishing save is still on its way (`exclude` of the next request: the
   * server must not hand back a face it does not yet know is done). */
  held() {
    const ids = [this.current, ...this.ahead.map((e) => e.id), ...this.behind.keys()];
    return [...new Set(ids.filter((id) => id !== null))];
  }

  /** A finishing save of face `id` starts; the returned function says it ended
   * (stored, or failed for good). Until then the face stays in held(). */
  savingFace(id) {
    this.behind.set(id, (this.behind.get(id) || 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = this.behind.get(id) - 1;
      if (left > 0) this.behind.set(id, left); else this.behind.delete(id);
    };
  }

  /** The page now shows face `id` (one taken from ahead, or another through the history). */
  show(id) {
    this.current = id;
    this.ahead = this.ahead.filter((e) => e.id !== id);
    this.exhausted = false; // what the server has left depends on what the page holds
  }

  /** Whether to ask for one more face now. */
  wants() { return !this.fetching && !this.exhausted && this.ahead.length < this.depth; }

  /** The claim of `entry` still has margin. */
  fresh(entry) { return this.now() - entry.fetchedAt < entry.ttlMs * this.margin; }

  /** Ask for faces until `depth` are ahead: fetchNext(exclude) -> Promise of the
   * next endpoint's answer ({face_id, url, state, progress, claim_ttl_s});
   * prepare(entry) starts what showing it needs (its image). Rejects with the
   * request's error (what is ahead stays). */
  async fill(fetchNext, prepare = () => null) {
    while (this.wants()) {
      const { entry } = await this.request(fetchNext, prepare);
      if (!entry) return;
    }
  }

  /** One next request (the one in flight is `fetching`): the face it hands out
   * joins those ahead before the promise resolves. Resolves with {body, entry}
   * (entry null: nothing left, or a face the page holds already). */
  request(fetchNext, prepare = () => null) {
    const ticket = this.ticket();
    const asked = fetchNext(this.held()).then((body) => {
      this.noteProgress(body.progress, ticket);
      if (body.face_id === null) { this.exhausted = true; return { body, entry: null }; }
      if (this.held().includes(body.face_id)) return { body, entry: null }; // shown meanwhile (the history)
      const entry = { id: body.face_id, state: body.state, fetchedAt: this.now(), ttlMs: body.claim_ttl_s * 1000 };
      entry.ready = prepare(entry);
      this.ahead.push(entry);
      return { body, entry };
    });
    this.fetching = asked;
    const done = () => { if (this.fetching === asked) this.fetching = null; };
    asked.then(done, done);
    return asked;
  }

  /** The face to show next (after a save): the first fresh one ahead, else the
   * one on its way, else one asked for now. Resolves with {entry (null: nothing
   * left), stale (ids of faces given up: their claims were near their end, to
   * give back), url (where the server sends the annotator when nothing is left)}. */
  async next(fetchNext, prepare = () => null) {
    const stale = [];
    const take = () => { const out = this.take(); stale.push(...out.stale); return out.entry; };
    let entry = take();
    if (!entry && this.fetching) {
      await this.fetching.catch(() => null); // its failure: asked again below
      entry = take();
    }
    if (entry) return { entry, stale, url: null };
    const { body } = await this.request(fetchNext, prepare);
    return { entry: take(), stale, url: body.url };
  }

  /** The next face to show: {entry (null: none ahead), stale (ids to give back:
   * claims too near their end)}. The entry leaves the queue and is the shown
   * face from now on (a request sent while it is drawn leaves it out). */
  take() {
    const stale = [];
    while (this.ahead.length) {
      const entry = this.ahead.shift();
      if (this.fresh(entry)) { this.current = entry.id; return { entry, stale }; }
      stale.push(entry.id);
    }
    return { entry: null, stale };
  }

  /** Forget every face ahead (the page closes); returns their ids, to give back. */
  dropAll() {
    const ids = this.ahead.map((e) => e.id);
    this.ahead = [];
    return ids;
  }

  /** A save that may finish a face starts (saveEnded() when it is answered):
   * a progress reading asked meanwhile may or may not count it, so it is not used. */
  saveStarted() { this.saving += 1; this.epoch += 1; }

  saveEnded() { this.saving -= 1; }

  /** A save finished a face (finishesFace): the counts shown move at once. */
  finished() { this.finishes += 1; }

  /** What a request that brings a progress reading notes when it is sent (noteProgress). */
  ticket() { return { sent: this.finishes, epoch: this.epoch, clean: this.saving === 0 }; }

  /** A progress reading from the server, for a request sent with `ticket`: used
   * only when no finishing save was on its way while it was asked (else it may or
   * may not count that save: the faces finished here are counted instead). */
  noteProgress(progress, ticket = this.ticket()) {
    if (!progress || !ticket.clean || this.saving !== 0 || ticket.epoch !== this.epoch) return;
    if (this.reading && ticket.sent < this.reading.sent) return; // older than what is shown
    this.reading = { progress, sent: ticket.sent };
  }

  /** {done, remaining, total} to show: the newest reading plus the faces
   * finished here since it was asked for (null before any reading). */
  progress() {
    if (!this.reading) return null;
    const { progress: p, sent } = this.reading;
    const extra = Math.min(Math.max(0, this.finishes - sent), p.remaining);
    return { done: p.done + extra, remaining: p.remaining - extra, total: p.total };
  }
}
