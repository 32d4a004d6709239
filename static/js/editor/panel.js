// The side panel's controls that the labeling and review pages share: the
// numeric pose fields (yaw, pitch, roll in degrees; t in mm), the keyboard
// nudges, and the view options (checkboxes, opacity slider).
import { clampDepth } from './controls.js';
import { eulerToMatrix, matrixToEulerWide } from './pose.js';

const NAMES = ['yaw', 'pitch', 'roll', 'tx', 'ty', 'tz'];

/** Keeps `form`'s fields showing editor.pose and applies typed values through
 * editor.set (Enter or leaving a field applies, Escape restores). Returns the
 * function that refreshes the fields. */
export function bindPoseFields(form, editor) {
  function show() {
    const values = [...matrixToEulerWide(editor.pose.R), ...editor.pose.t];
    NAMES.forEach((n, i) => {
      const input = form.elements[n];
      if (form.ownerDocument.activeElement !== input) input.value = values[i].toFixed(1);
    });
  }
  function apply() {
    const v = NAMES.map((n) => parseFloat(form.elements[n].value));
    if (!v.every(Number.isFinite)) { show(); return; }
    editor.set({ R: eulerToMatrix(v[0], v[1], v[2]), t: v.slice(3) });
  }
  form.addEventListener('change', apply);
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); form.ownerDocument.activeElement.blur(); });
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); apply(); e.target.blur(); }
    if (e.key === 'Escape') { show(); e.target.blur(); }
  });
  return show;
}

/** The nudges controls.js calls, for an editor object with pose and set(pose). */
export const nudges = {
  nudgeEuler(axis, degrees) {
    const e = matrixToEulerWide(this.pose.R); // wide: yaw nudges go on past 90 (the back of the head)
    e[axis] += degrees;
    this.set({ R: eulerToMatrix(...e), t: this.pose.t });
  },
  nudgeT(axis, mm) {
    const t = this.pose.t.slice();
    t[axis] = axis === 2 ? clampDepth(t[2], t[2] + mm, this.depthLimits) : t[axis] + mm;
    this.set({ R: this.pose.R, t });
  },
};

/** Flip the view option checkbox #opt-<name> (unless disabled), as a click would. */
export function toggleOption(doc, name) {
  const box = doc.getElementById(`opt-${name}`);
  if (!box || box.disabled) return;
  box.checked = !box.checked;
  box.dispatchEvent(new Event('change'));
}

/** Move the #opt-opacity slider by `delta`, within [0, 1]. */
export function stepOpacity(doc, delta) {
  const s = doc.getElementById('opt-opacity');
  s.value = Math.min(1, Math.max(0, parseFloat(s.value) + delta)).toFixed(2);
  s.dispatchEvent(new Event('input'));
}
