// Saving the shown pose: one save at a time, each sending the version the
// previous one produced (optimistic locking, 409 on a stale version), drafts
// saved automatically a moment after a change, and the time spent sent along.
// A save that fails on the way (no connection, the server down: retry.js) is
// tried again with exponential backoff, the countdown on the state line
// ("retrying in 4 s"), and sends the pose shown when it goes: nothing is lost
// on a network blip. A refusal (4xx) or a conflict (409) is not retried.
// No DOM here: the page hands in the request function, the timers and callbacks
// that show the outcome, so the logic runs the same under `node --test`.
import { ConflictError } from './api.js';
import { clonePose, posesEqual } from './pose.js';
import { Retrier } from './retry.js';

/** The stored label as the page state describes it (pose null when none yet). */
export function storedLabel(state) {
  const a = state.annotation;
  return { version: a ? a.version : 0, status: a ? a.status : null, pose: a ? clonePose(state.initial) : null };
}

function savedText(body) {
  return `${body.status === 'draft' ? 'draft saved' : 'saved'} · v${body.version}`;
}

const ignore = () => {};

export class SaveQueue {
  /**
   * request(url, {method, body}): api.js's requestJSON or one like it (ConflictError on 409).
   * state: the page state (annotation, initial, reference); url: the label's save URL.
   * getPose(): the shown pose; getLandmarkPins(): the pinned landmarks saved with it; activeTime: an ActiveTime.
   * autosaveMs, autosaveChecked(): the delay and the page's autosave switch.
   * timers: {setTimeout, clearTimeout}.
   * onState(text, kind): the save state line; onEdit(): a change waits to be saved;
   * onSaved(body): a save was stored; onFailure(error, {retrying}): a save was not stored
   * (retrying: it will be tried again by itself).
   */
  constructor({
    request, state, url, getPose, getLandmarkPins = () => [], activeTime, autosaveMs, autosaveChecked, timers,
    onState = ignore, onEdit = ignore, onSaved = ignore, onFailure = ignore,
  }) {
    Object.assign(this, { request, url, getPose, getLandmarkPins, activeTime, autosaveMs, autosaveChecked, timers });
    Object.assign(this, { onState, onEdit, onSaved, onFailure });
    this.proposalId = state.reference.origin.proposal_id;
    this.saved = storedLabel(state);
    this.conflict = null; // the ConflictError that stopped the queue, until load()
    this.chain = Promise.resolve();
    this.autosaveTimer = 0;
    // a save that failed on the way waits here for its retry (retry.js: backoff, the countdown on the state line)
    this.retrier = new Retrier({ timers, onWait: (text) => this.onState(text, 'retry'), onFailure: (...a) => this.onFailure(...a) });
    this.pending = 0; // saves asked for and not yet ended (stored, or failed for good)
  }

  /** {timer, resolve} while a failed save waits to be tried again, else null. */
  get retry() { return this.retrier.waiting; }

  /** A save was asked for and has not ended yet (on its way, queued or waiting for its retry). */
  busy() { return this.pending > 0; }

  /** Resolves once every save asked for so far has ended (stored or failed for good). */
  async idle() { while (this.pending) await this.chain; }

  /** The shown pose differs from the stored one (or nothing is stored). */
  dirty() { return !this.saved.pose || !posesEqual(this.saved.pose, this.getPose(), 0); }

  /** Drafts save themselves; a finished label is saved only on request. */
  autosaveOn() {
    return this.autosaveChecked() && !this.conflict && (this.saved.status === null || this.saved.status === 'draft');
  }

  /** Leaving now would lose a change: one to a stored label that autosave will not
   * save, or a failed save waiting to be retried. */
  wouldLoseEdits() {
    return this.retry !== null || (this.dirty() && this.saved.pose !== null && !this.autosaveOn());
  }

  /** A failed save waits for its retry: try it now (the page's "Retry now", the browser back online). */
  retryNow() { this.retrier.now(); }

  /** The shown pose changed: (re)start the autosave delay, or mark it unsaved. */
  changed() {
    this.onEdit();
    this.timers.clearTimeout(this.autosaveTimer);
    if (this.retry) return; // the waiting retry sends the pose shown when it goes; its countdown stays shown
    if (this.autosaveOn()) {
      this.onState('draft pending…', 'pending');
      this.autosaveTimer = this.timers.setTimeout(() => { this.save({ status: 'draft' }).catch(ignore); }, this.autosaveMs);
    } else {
      this.onState('unsaved changes', 'dirty');
    }
  }

  /** Save the pose shown when this save's turn comes. Saves run one after
   * another; the promise rejects with ConflictError on a 409 (the queue then
   * refuses every save until load()) and with the request's error otherwise. */
  save({ status = 'corrected', flag_reason = '', note = '' } = {}) {
    this.timers.clearTimeout(this.autosaveTimer);
    this.pending += 1;
    const result = this.chain.then(() => this.send({ status, flag_reason, note }))
      .finally(() => { this.pending -= 1; });
    this.chain = result.catch(ignore);
    return result;
  }

  async send({ status, flag_reason, note }) {
    let pose;
    let body;
    try {
      body = await this.retrier.run(async (attempt) => {
        if (this.conflict) throw this.conflict;
        pose = this.getPose();
        const spent = this.activeTime.take();
        this.onState(attempt === 1 ? 'saving…' : `saving… (try ${attempt})`, 'pending');
        try {
          return await this.request(this.url, {
            method: 'PUT',
            body: {
              R: pose.R, t: pose.t, status, expected_version: this.saved.version, time_spent_s: spent,
              flag_reason, note, proposal_id: this.proposalId, landmark_pins: this.getLandmarkPins(),
            },
          });
        } catch (err) {
          this.activeTime.giveBack(spent); // not recorded: count it with the next save
          if (err instanceof ConflictError) this.conflict = err;
          throw err;
        }
      });
    } catch (err) {
      return this.fail(err);
    }
    this.saved = { version: body.version, status: body.status, pose };
    this.onState(savedText(body), 'ok');
    this.onSaved(body);
    if (this.dirty()) this.changed(); // moved while the save was on its way
    return body;
  }

  fail(err) {
    this.onFailure(err, { retrying: false });
    this.onState('not saved', 'bad');
    throw err;
  }

  /** Take the label as stored now (after a conflict): later saves build on it. */
  load(state) {
    this.saved = storedLabel(state);
    this.conflict = null;
  }
}
