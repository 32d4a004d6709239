// The review page's own keys. They are read before the editor's (controls.js),
// which keeps the pose keys (arrows, Q/E, J/L/I/K/U/O, W, M, [ ], undo/redo).

/** The review action of a key, or null (then the editor's keys apply).
 * mode: 'reviewing' (A approve, R reject, C correct) or 'correcting'
 * (S/Enter save the correction, Esc and R back to the label's pose). */
export function reviewAction(key, mode, { ctrl = false, alt = false } = {}) {
  if (ctrl || alt) return null;
  const k = key.length === 1 ? key.toLowerCase() : key;
  const correcting = mode === 'correcting';
  switch (k) {
    case 'a': return correcting ? 'ignore' : 'approve';
    case 'r': return correcting ? 'cancelCorrection' : 'reject';
    case 'c': return 'correct';
    case 'g': return 'ghosts';
    case 'n': return 'next';
    case 's': case 'Enter': return correcting ? 'saveCorrection' : 'ignore';
    case 'Escape': return correcting ? 'cancelCorrection' : null;
    case 'f': return 'ignore'; // the labeling page's flag: not a review action
    default: return null;
  }
}

/** Digits 1..n choose the n-th reason in the reject dialog. */
export function reasonIndex(key, n) {
  const i = Number.parseInt(key, 10) - 1;
  return Number.isInteger(i) && i >= 0 && i < n && String(i + 1) === key ? i : -1;
}
