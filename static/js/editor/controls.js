// Mouse and keyboard. All motion is computed in the OpenCV camera frame
// (x right, y down, z forward), where screen directions match the axes. The
// keys are the page's keymap's (static/js/keymap.js: editor.keymap); the wheel
// is not the pose's (it zooms the view: stage_zoom.js).
import { Keymap } from '../keymap.js';
import { eventToPixel, projectPoint } from './camera.js';
import { axisAngle, matmul, orthonormalize } from './pose.js';

const DEPTH_PER_PX = 0.005; // a Ctrl/Alt-drag's depth change: exp(this per pixel up)

const HEAD_RADIUS_MM = 100; // the arcball sphere: about a head's size at its depth

/** Point on the virtual trackball for pixel (u, v): a sphere around the
 * projected head origin, continued by a hyperbolic sheet outside (Bell's). The
 * visible half of the sphere faces the camera, hence z < 0. */
/** The depth (t_z, mm) a move from `from` toward `to` may reach under
 * `limits` ({safe_depth_mm, max_depth_mm}, the page config's depth_limits,
 * annotator/labeling/views.py): never nearer than safe_depth_mm, from where
 * every rotation keeps the whole head in front of the camera (the server's
 * exact rule, workers/core/pose_rules.py, may allow nearer for this rotation:
 * a close-up proposal already nearer stays where it is and may go farther,
 * never nearer), and never farther than max_depth_mm (likewise). No limits: `to`. */
export function clampDepth(from, to, limits) {
  if (!limits || !(from > 0) || !Number.isFinite(to)) return to;
  if (to < from) return Math.max(to, Math.min(from, limits.safe_depth_mm));
  return Math.min(to, Math.max(from, limits.max_depth_mm));
}

function trackballVector(u, v, centre, radius) {
  const x = (u - centre[0]) / radius;
  const y = (v - centre[1]) / radius;
  const d2 = x * x + y * y;
  const z = d2 <= 0.5 ? -Math.sqrt(1 - d2) : -0.5 / Math.sqrt(d2);
  const n = Math.hypot(x, y, z);
  return [x / n, y / n, z / n];
}

export function attachPointer(canvas, editor) {
  let drag = null;
  canvas.addEventListener('contextmenu', (e) => e.preventDefault());
  canvas.addEventListener('pointerdown', (e) => {
    const pose = editor.getPose();
    if ((e.button !== 0 && e.button !== 2) || !pose) return; // no pose: no head shown (a timeline frame without one)
    canvas.focus({ preventScroll: true });
    canvas.setPointerCapture(e.pointerId);
    const K = editor.K;
    const centre = projectPoint(K, pose.t);
    const radius = Math.max(8, K[0] * HEAD_RADIUS_MM / Math.max(pose.t[2], 1));
    const p = eventToPixel(e, canvas, editor.width, editor.height);
    drag = {
      mode: e.ctrlKey || e.altKey || e.metaKey ? 'depth' : e.button === 2 || e.shiftKey ? 'move' : 'rotate',
      last: p, centre, radius,
      lastVector: trackballVector(p[0], p[1], centre, radius), moved: false,
    };
    e.preventDefault();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const p = eventToPixel(e, canvas, editor.width, editor.height);
    const pose = editor.getPose();
    if (drag.mode === 'rotate') {
      const v = trackballVector(p[0], p[1], drag.centre, drag.radius);
      const a = drag.lastVector;
      const axis = [a[1] * v[2] - a[2] * v[1], a[2] * v[0] - a[0] * v[2], a[0] * v[1] - a[1] * v[0]];
      const angle = Math.atan2(Math.hypot(...axis), a[0] * v[0] + a[1] * v[1] + a[2] * v[2]);
      pose.R = orthonormalize(matmul(axisAngle(axis, angle), pose.R));
      drag.lastVector = v;
    } else if (drag.mode === 'depth') {
      // along the ray through the head origin (its image position stays put): up farther, down nearer
      const z = pose.t[2];
      const factor = Math.exp((drag.last[1] - p[1]) * DEPTH_PER_PX);
      const scale = z > 0 ? clampDepth(z, z * factor, editor.depthLimits) / z : factor;
      pose.t = pose.t.map((v) => v * scale);
    } else {
      const K = editor.K;
      const z = pose.t[2];
      pose.t = [pose.t[0] + (p[0] - drag.last[0]) * z / K[0], pose.t[1] + (p[1] - drag.last[1]) * z / K[4], z];
    }
    drag.last = p;
    drag.moved = true;
    editor.preview(pose);
  });
  const end = (e) => {
    if (!drag) return;
    if (canvas.hasPointerCapture(e.pointerId)) canvas.releasePointerCapture(e.pointerId);
    if (drag.moved) editor.commit();
    drag = null;
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
}

export function typing(target) {
  return target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))
    && !(target.type === 'checkbox' || target.type === 'range' || target.type === 'radio');
}

// The keymap's actions that nudge the pose: [euler axis or 't' axis, sign] (a step from editor.steps).
const NUDGES = {
  yawLeft: ['euler', 0, 1], yawRight: ['euler', 0, -1], // +yaw: the face turns to image-left
  pitchUp: ['euler', 1, 1], pitchDown: ['euler', 1, -1],
  rollLeft: ['euler', 2, -1], rollRight: ['euler', 2, 1],
  moveLeft: ['t', 0, -1], moveRight: ['t', 0, 1], moveUp: ['t', 1, -1], moveDown: ['t', 1, 1],
  nearer: ['t', 2, -1], farther: ['t', 2, 1],
};
// The keymap's actions that are a call of `actions` (the page's and the component's).
const CALLS = {
  undo: (a) => a.undo(), redo: (a) => a.redo(),
  wireframe: (a) => a.toggle('wireframe'), axes: (a) => a.toggle('axes'), landmarks: (a) => a.toggle('landmarks'),
  opacityDown: (a) => a.opacity(-0.1), opacityUp: (a) => a.opacity(0.1),
};
const PAGE_ACTIONS = ['reset', 'accept', 'save', 'skip', 'flag'];

/** Keyboard shortcuts: the keys of editor.keymap (a Keymap; the defaults without one); `actions`
 * maps names to functions (undo, redo, toggle(name), opacity(delta) and the page's reset, accept,
 * save, skip, flag: a page without one leaves its key to others). Shortcuts are off while typing
 * in a field (Enter there applies the value) or in a dialog. */
export function attachKeyboard(editor, actions) {
  const keymap = editor.keymap || new Keymap();
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || typing(e.target) || document.querySelector('dialog[open]')) return;
    const hit = keymap.resolve(e);
    if (!hit) return;
    const nudge = NUDGES[hit.action];
    if (nudge) {
      const steps = editor.steps;
      const [kind, axis, sign] = nudge;
      if (kind === 'euler') editor.nudgeEuler(axis, sign * (hit.coarse ? steps.angle_coarse : steps.angle_fine));
      else editor.nudgeT(axis, sign * (hit.coarse ? steps.move_coarse : steps.move_fine));
    } else if (Object.hasOwn(CALLS, hit.action)) {
      CALLS[hit.action](actions);
    } else if (PAGE_ACTIONS.includes(hit.action) && typeof actions[hit.action] === 'function') {
      actions[hit.action]();
    } else {
      return; // another part's key (the review's, the landmark tool's, the zoom's, the help's)
    }
    e.preventDefault();
  });
}
