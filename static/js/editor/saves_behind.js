// The saves of faces no longer shown. The labeling page shows the next face
// the moment A (Save, Skip, Flag) is pressed; the save of the face before goes
// on behind it, its state always in view: one line per face in #saves-behind
// (fixed in the viewport, app.css) from the moment it leaves the screen until
// its save ends: "image0042.png: saving…", "…: retrying in 4 s", then
// "…: saved · v1" for a moment. A save that failed for good (a refusal, a
// conflict) keeps its line, with a button back to the face. The DOM side only:
// the retries and their words are save_queue.js's and retry.js's.

const bound = new WeakMap();

/** The page's #saves-behind, bound once per document. goBack(face): the line's
 * "Back to it" was pressed; lingerMs: how long a stored save's line stays. */
export function savesBehind(doc, { goBack, lingerMs = 1500, timers = window }) {
  if (!bound.has(doc)) bound.set(doc, bind(doc, goBack, lingerMs, timers));
  return bound.get(doc);
}

function bind(doc, goBack, lingerMs, timers) {
  const box = doc.getElementById('saves-behind');
  const lines = new Map(); // face id -> {el, text, timer}

  function line(face) {
    let entry = lines.get(face.id);
    if (!entry) {
      const el = doc.createElement('div');
      el.className = 'save-behind';
      el.dataset.faceId = String(face.id);
      const text = doc.createElement('span');
      el.append(text);
      box.append(el);
      entry = { el, text, timer: 0 };
      lines.set(face.id, entry);
    }
    timers.clearTimeout(entry.timer);
    return entry;
  }

  function drop(id) {
    const entry = lines.get(id);
    if (!entry) return;
    timers.clearTimeout(entry.timer);
    entry.el.remove();
    lines.delete(id);
  }

  return {
    /** Face `face` ({id, label}) is saving behind the shown one: its state line's text and kind
     * (save_queue.js's onState: pending, retry, ok, bad). */
    state(face, text, kind) {
      const entry = line(face);
      entry.text.textContent = `${face.label}: ${text}`;
      entry.el.dataset.kind = kind;
      const back = entry.el.querySelector('button');
      if (kind === 'bad' && !back) {
        const button = doc.createElement('button');
        button.type = 'button';
        button.textContent = 'Back to it';
        button.addEventListener('click', () => { drop(face.id); goBack(face); });
        entry.el.append(button);
      } else if (kind !== 'bad' && back) {
        back.remove();
      }
      if (kind === 'ok') entry.timer = timers.setTimeout(() => drop(face.id), lingerMs);
    },
    /** The face is shown again: its own state line speaks for it. */
    drop,
    /** The faces whose lines are shown. */
    ids: () => [...lines.keys()],
  };
}
