// The labeling page's save failures, in view: the error banner (#error-banner,
// fixed in the viewport by app.css) says in plain words what happened and what
// to do (retry.js's describeFailure), with "Retry now" while a failed save
// waits for its retry; a conflict shows in #conflict-banner ("Load their
// version"). The DOM side only; the words and the retry logic are unit-tested.
import { describeFailure } from './retry.js';

const bound = new WeakMap();

/** The page's banners, bound once per document. retryNow(): "Retry now" was pressed. */
export function saveFeedback(doc, { retryNow }) {
  if (!bound.has(doc)) bound.set(doc, bind(doc, retryNow));
  return bound.get(doc);
}

function bind(doc, retryNow) {
  const $ = (id) => doc.getElementById(id);
  const banner = $('error-banner');
  let retrying = false; // the banner is about a save that will be retried
  $('error-retry').addEventListener('click', () => retryNow());
  return {
    /** A save failed: `err` from save_queue.js; retrying: it will be tried again by itself;
     * about: the face it was for, when it is not the shown one (its name starts the text). */
    show(err, { retrying: willRetry = false, about = '' } = {}) {
      const { text: words, action } = describeFailure(err);
      const text = about ? `${about}: ${words}` : words;
      if (action === 'reload') {
        $('conflict-text').textContent = text;
        $('conflict-banner').hidden = false;
        return;
      }
      $('error-text').textContent = text;
      $('error-retry').hidden = !willRetry;
      banner.dataset.action = action;
      banner.hidden = false;
      retrying = willRetry;
    },
    /** The pose changed: a refusal's banner goes (the user is fixing it); a retry's stays until it is saved. */
    hide() { if (!retrying) banner.hidden = true; },
    /** A save was stored. */
    saved() { retrying = false; banner.hidden = true; },
  };
}
