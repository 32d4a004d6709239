// The side panel's controls that the labeling and review pages share: the
// numeric pose fields (yaw, pitch, roll in degrees; t in mm), the keyboard
// nudges, and the view options (checkboxes, opacity slider).
import { clampDepth } from './controls.js';
import { eulerToMatrix, matrixToEulerWide } from './pose.js';

const NAMES = ['yaw', 'pitch', 'roll', 'tx', 'ty', 'tz'];
// The fields' angle ranges: those matrixToEulerWide shows (yaw and roll a full turn, pitch up to straight up/down).
const ANGLE_RANGE = { yaw: [-180, 180], pitch: [-90, 90], roll: [-180, 180] };
const MAX_DEPTH_MM = 10000; // workers/core/pose_rules.MAX_DEPTH_MM, when the page gives no depth limits

/** Why the text typed in pose field `name` cannot be applied ('' when it can), by
 * the pose rules (workers/core/pose_rules.py): angles within their range; t in
 * mm with 0 < z <= the depth limit and |x|, |y| <= it; and z no nearer than
 * limits.safe_depth_mm (from there every rotation keeps the whole head in front
 * of the camera), or than `currentZ` when the head is already nearer (a close-up:
 * as the depth keys and wheel, controls.clampDepth). limits: the page config's
 * depth_limits ({safe_depth_mm, max_depth_mm}) or null. */
export function checkPoseField(name, text, { currentZ = null, limits = null } = {}) {
  const value = String(text).trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(value)) return 'Type a number.';
  if (ANGLE_RANGE[name]) {
    const [lo, hi] = ANGLE_RANGE[name];
    return value < lo || value > hi ? `${name[0].toUpperCase()}${name.slice(1)} must be between ${lo}° and ${hi}°.` : '';
  }
  const max = limits && limits.max_depth_mm ? limits.max_depth_mm : MAX_DEPTH_MM;
  if (name === 'tx' || name === 'ty') {
    return Math.abs(value) > max ? `${name[1]} must be within ±${max} mm (the depth limit).` : '';
  }
  if (value <= 0) return 'z must be more than 0 mm: the head has to be in front of the camera.';
  if (value > max) return `z must be at most ${max} mm (the depth limit).`;
  if (limits && limits.safe_depth_mm) {
    const nearest = Number.isFinite(currentZ) ? Math.min(currentZ, limits.safe_depth_mm) : limits.safe_depth_mm;
    if (value < nearest - 1e-9) {
      return `z must be at least ${+nearest.toFixed(1)} mm: nearer, part of the head could be behind the camera.`;
    }
  }
  return '';
}

/** Keeps `form`'s fields showing editor.pose and applies typed values through
 * editor.set (Enter or leaving a field applies, Escape restores). Each value is
 * checked as typed (checkPoseField): the reason shows next to the field and the
 * pose changes only once every field is valid. Returns the function that
 * refreshes the fields. */
export function bindPoseFields(form, editor) {
  const doc = form.ownerDocument;
  function reasonOf(n) {
    return checkPoseField(n, form.elements[n].value, { currentZ: editor.pose ? editor.pose.t[2] : null, limits: editor.depthLimits });
  }
  function mark(n, reason) {
    const input = form.elements[n];
    let note = doc.getElementById(`field-error-${n}`);
    if (!note) {
      note = doc.createElement('span');
      note.id = `field-error-${n}`;
      note.className = 'field-error';
      note.setAttribute('role', 'alert');
      input.insertAdjacentElement('afterend', note);
      input.setAttribute('aria-describedby', note.id);
    }
    note.textContent = reason;
    note.hidden = !reason;
    input.setCustomValidity(reason);
    if (reason) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
  }
  function show() {
    const values = [...matrixToEulerWide(editor.pose.R), ...editor.pose.t];
    NAMES.forEach((n, i) => {
      const input = form.elements[n];
      if (doc.activeElement !== input) { input.value = values[i].toFixed(1); mark(n, ''); }
    });
  }
  /** Apply the fields when all are valid; false (reasons shown) when not. */
  function apply() {
    const reasons = NAMES.map(reasonOf);
    NAMES.forEach((n, i) => mark(n, reasons[i]));
    if (reasons.some(Boolean)) return false;
    const v = NAMES.map((n) => Number(form.elements[n].value));
    editor.set({ R: eulerToMatrix(v[0], v[1], v[2]), t: v.slice(3) });
    return true;
  }
  form.addEventListener('input', (e) => { if (NAMES.includes(e.target.name)) mark(e.target.name, reasonOf(e.target.name)); });
  form.addEventListener('change', apply);
  form.addEventListener('submit', (e) => { e.preventDefault(); if (apply()) doc.activeElement.blur(); });
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); if (apply()) e.target.blur(); } // an invalid value keeps the focus
    if (e.key === 'Escape') { e.target.blur(); show(); }
  });
  return show;
}

/** The nudges controls.js calls, for an editor object with pose and set(pose). */
export const nudges = {
  nudgeEuler(axis, degrees) {
    if (!this.pose) return; // no head shown
    const e = matrixToEulerWide(this.pose.R); // wide: yaw nudges go on past 90 (the back of the head)
    e[axis] += degrees;
    this.set({ R: eulerToMatrix(...e), t: this.pose.t });
  },
  nudgeT(axis, mm) {
    if (!this.pose) return;
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
