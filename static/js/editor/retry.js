// What a failed save means to the person labeling, and when to try it again.
// No DOM (the timers are handed in): save_queue.js and the review page run their
// requests through a Retrier, the pages show its words in the error banner
// (save_feedback.js; tests/js/retry.test.mjs).
import { ConflictError, NetworkError, RequestError } from './api.js';

export const RETRY_BASE_MS = 1000;
export const RETRY_MAX_MS = 30000;

/** Milliseconds to wait before retry number `attempt` (1, 2, ...): 1 s, 2 s, 4 s, ... at most 30 s. */
export function backoffDelay(attempt, { baseMs = RETRY_BASE_MS, maxMs = RETRY_MAX_MS } = {}) {
  const n = Math.max(1, Math.floor(attempt));
  return Math.min(maxMs, baseMs * 2 ** (n - 1));
}

/** A failure that may pass by itself: no connection, a timeout, the server
 * busy or down (408, 429, 5xx). A refusal (other 4xx) or a conflict will not. */
export function isRetryable(err) {
  if (err instanceof ConflictError) return false;
  if (err instanceof NetworkError) return true;
  if (err instanceof RequestError) return err.status === 408 || err.status === 429 || err.status >= 500;
  return false;
}

/** "retrying in 4 s" for the save state line (whole seconds, at least 1). */
export function retryText(msLeft) {
  return `retrying in ${Math.max(1, Math.ceil(msLeft / 1000))} s`;
}

/** What went wrong and what to do, in plain words: {text, action} where action is
 * 'retry' (it is being retried; "Retry now" may hurry it), 'reload' (load the
 * other version), 'signin' or 'fix' (change something and save again). Never
 * the browser's raw "Failed to fetch". */
export function describeFailure(err) {
  if (err instanceof ConflictError) {
    const v = err.currentVersion ? ` (now version ${err.currentVersion})` : '';
    return {
      text: `Someone else saved this label${v} after you opened it, so your save was not stored. `
        + 'Press "Load their version" to see it.',
      action: 'reload',
    };
  }
  if (err instanceof RequestError) {
    if (err.status === 401 || err.status === 403) {
      return {
        text: 'The server no longer accepts your saves here (signed out, or no longer assigned). '
          + 'Sign in again in another tab, then save: your pose is kept on this page.',
        action: 'signin',
      };
    }
    if (isRetryable(err)) {
      return {
        text: `The server is busy or down (${err.status}). Your label is kept on this page and is saved `
          + 'automatically as soon as the server answers.',
        action: 'retry',
      };
    }
    const reason = err.message ? ` It said: ${err.message.replace(/\s*$/, '')}` : '';
    return { text: `The server refused this save.${reason} Change the pose and save again.`, action: 'fix' };
  }
  if (isRetryable(err)) {
    return {
      text: 'The server cannot be reached (the network is down or the connection dropped). Your label is '
        + 'kept on this page and is saved automatically when the connection is back.',
      action: 'retry',
    };
  }
  return { text: `The save failed: ${err && err.message ? err.message : err}. Save again.`, action: 'fix' };
}

/**
 * Runs a request until it is answered: a failure that may pass by itself
 * (isRetryable) is reported (onFailure(err, {retrying: true})) and tried again
 * after backoffDelay, the wait counted down each second (onWait(retryText(left)));
 * any other failure rejects at once. Used by every page that saves (the labeling
 * page's save_queue.js, the review page's verdicts). timers: {setTimeout, clearTimeout}.
 */
export class Retrier {
  constructor({ timers, onWait = () => {}, onFailure = () => {} }) {
    Object.assign(this, { timers, onWait, onFailure });
    this.waiting = null; // {timer, resolve} while a failed request waits for its retry
  }

  /** attempt(n) (n = 1, 2, ...) -> a promise; resolves with the first answer. */
  async run(attempt) {
    for (let n = 1; ; n += 1) {
      try {
        return await attempt(n);
      } catch (err) {
        if (!isRetryable(err)) throw err;
        this.onFailure(err, { retrying: true });
        await this.wait(backoffDelay(n));
      }
    }
  }

  /** A request waits for its retry: send it now ("Retry now", the browser back online). */
  now() {
    if (this.waiting) this.waiting.resolve();
  }

  /** Count down `ms` (onWait each second), then resolve (or at now()). */
  wait(ms) {
    return new Promise((resolve) => {
      let left = ms;
      const done = () => { this.waiting = null; resolve(); };
      const tick = () => {
        this.onWait(retryText(left));
        const step = Math.min(1000, left);
        left -= step;
        this.waiting.timer = this.timers.setTimeout(left > 0 ? tick : done, step);
      };
      this.waiting = { timer: 0, resolve: () => { this.timers.clearTimeout(this.waiting.timer); done(); } };
      tick();
    });
  }
}
