// Mouse and keyboard. All motion is computed in the OpenCV camera frame
// (x right, y down, z forward), where screen directions match the axes.
import { eventToPixel, projectPoint } from './camera.js';
import { axisAngle, matmul, orthonormalize } from './pose.js';

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
    if (e.button !== 0 && e.button !== 2) return;
    canvas.focus({ preventScroll: true });
    canvas.setPointerCapture(e.pointerId);
    const pose = editor.getPose();
    const K = editor.K;
    const centre = projectPoint(K, pose.t);
    const radius = Math.max(8, K[0] * HEAD_RADIUS_MM / Math.max(pose.t[2], 1));
    const p = eventToPixel(e, canvas, editor.width, editor.height);
    drag = {
      mode: e.button === 2 || e.shiftKey ? 'move' : 'rotate', last: p, centre, radius,
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

  let wheelTimer = 0;
  canvas.addEventListener('wheel', (e) => {
    e.preventDefault();
    // Along the ray through the head origin: its image position stays put.
    const pose = editor.getPose();
    const factor = Math.exp(Math.max(-200, Math.min(200, e.deltaY)) * 0.001);
    const z = pose.t[2];
    const scale = z > 0 ? clampDepth(z, z * factor, editor.depthLimits) / z : factor;
    if (scale === 1) return; // at a limit: nothing to show, nothing to save
    pose.t = pose.t.map((v) => v * scale);
    editor.preview(pose);
    clearTimeout(wheelTimer);
    wheelTimer = setTimeout(() => editor.commit(), 250);
  }, { passive: false });
}

export function typing(target) {
  return target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))
    && !(target.type === 'checkbox' || target.type === 'range' || target.type === 'radio');
}

/** Keyboard shortcuts; `actions` maps names to functions. Shortcuts are off
 * while typing in a field (Enter there applies the value) or in a dialog. */
export function attachKeyboard(editor, actions) {
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || typing(e.target) || document.querySelector('dialog[open]')) return;
    const steps = editor.steps;
    const angle = e.shiftKey ? steps.angle_coarse : steps.angle_fine;
    const move = e.shiftKey ? steps.move_coarse : steps.move_fine;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    const mod = e.ctrlKey || e.metaKey;
    let handled = true;
    if (mod && key === 'z' && !e.shiftKey) actions.undo();
    else if (mod && (key === 'y' || (key === 'z' && e.shiftKey))) actions.redo();
    else if (mod || e.altKey) handled = false;
    else switch (key) {
      case 'ArrowLeft': editor.nudgeEuler(0, angle); break; // +yaw: the face turns to image-left
      case 'ArrowRight': editor.nudgeEuler(0, -angle); break;
      case 'ArrowUp': editor.nudgeEuler(1, angle); break;
      case 'ArrowDown': editor.nudgeEuler(1, -angle); break;
      case 'q': editor.nudgeEuler(2, -angle); break;
      case 'e': editor.nudgeEuler(2, angle); break;
      case 'j': editor.nudgeT(0, -move); break;
      case 'l': editor.nudgeT(0, move); break;
      case 'i': editor.nudgeT(1, -move); break;
      case 'k': editor.nudgeT(1, move); break;
      case 'u': editor.nudgeT(2, -move); break;
      case 'o': editor.nudgeT(2, move); break;
      case 'r': actions.reset(); break;
      case 'a': actions.accept(); break;
      case 's': case 'Enter': actions.save(); break;
      case 'n': actions.skip(); break;
      case 'f': actions.flag(); break;
      case 'w': actions.toggle('wireframe'); break;
      case 'g': actions.toggle('axes'); break;
      case 'm': actions.toggle('landmarks'); break;
      case '[': actions.opacity(-0.1); break;
      case ']': actions.opacity(0.1); break;
      default: handled = false;
    }
    if (handled) e.preventDefault();
  });
}
