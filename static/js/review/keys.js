// The review page's own keys. Which key is which action is the keymap's
// (static/js/keymap.js); here, what each of those actions does on this page in
// each mode. They are read before the editor's (controls.js), which keeps the
// pose keys (arrows, Q/E, J/L/I/K/U/O, W, M, [ ], undo/redo).

/** The review action of a keymap action, or null (then the editor's keys apply).
 * mode: 'reviewing' (accept: approve, reject, correct) or 'correcting'
 * (save: save the correction; reset and Esc: back to the label's pose). */
export function reviewAction(action, mode) {
  const correcting = mode === 'correcting';
  switch (action) {
    case 'accept': return correcting ? 'ignore' : 'approve';
    case 'reject': return 'reject';
    case 'correct': return 'correct';
    case 'ghosts': return 'ghosts';
    case 'skip': return 'next';
    case 'save': return correcting ? 'saveCorrection' : 'ignore';
    case 'reset': return correcting ? 'cancelCorrection' : 'ignore';
    case 'escape': return correcting ? 'cancelCorrection' : null;
    default: return null;
  }
}

/** Digits 1..n choose the n-th reason in the reject dialog. */
export function reasonIndex(key, n) {
  const i = Number.parseInt(key, 10) - 1;
  return Number.isInteger(i) && i >= 0 && i < n && String(i + 1) === key ? i : -1;
}
