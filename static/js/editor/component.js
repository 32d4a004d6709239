// The head-pose editor the labeling, review and sequence timeline pages share:
// the three.js view of the head over the image (scene.js), the shown pose with
// its undo history, the numeric fields and nudges (panel.js), the mouse and
// keyboard (controls.js), the 2D overlay (overlay.js), the view options, the
// time-spent counter (active_time.js), the head mesh's loading and the core of
// window.headposeEditor. Each page asks for the parts it shows and adds its own
// (labeling: saving, the landmark tool; review: ghosts, angles, verdict keys;
// timeline: keyframes, the timeline).
//
// The editor object (what controls.js, panel.js and landmark_tool.js drive):
//   K, width, height, steps, depthLimits (config.depth_limits: how near and far
//   the wheel and the U/O keys move the head), pose ({R, t} or null: no head shown), history,
//   getPose(), preview(pose) (show, no undo step), commit() (make it an undo
//   step), set(pose) (both), start(pose) (show, history restarts there), undo(),
//   redo(), nudgeEuler(), nudgeT(), view (scene.js's HeadView), api (the core of
//   window.headposeEditor, which the page extends).
import { Keymap } from '../keymap.js';
import { ActiveTime } from './active_time.js';
import { setCsrfToken } from './api.js';
import { attachKeyboard, attachPointer } from './controls.js';
import { PoseHistory } from './history.js';
import { drawOverlay } from './overlay.js';
import { attachHelp } from './help.js';
import { bindPoseFields, nudges, stepOpacity, toggleOption } from './panel.js';
import { checkPose, clonePose, eulerToMatrix, matrixToEuler, matrixToEulerWide } from './pose.js';
import { HeadView } from './scene.js';

export const MISSING_MESH = 'head.glb is missing: showing an ellipsoid head';

/**
 * options:
 *   config: the page's parsed config (its csrf token is set here; api.config);
 *   image: {width, height, K}, or absent when the page mounts it later (mount());
 *   pose: the starting pose ({R, t}; null or absent: no head until one is shown);
 *   steps: the keyboard's step sizes (default config.steps);
 *   canvas: the WebGL canvas (default #pose-canvas);
 *   onPreview(pose): after every change of the shown pose;
 *   onCommit(changed): after commit(), undo() and redo() (changed: a new undo step or a move in the history);
 *   doc: the document.
 */
export function createEditor({
  config, image = null, pose = null, steps = config.steps, canvas = null, onPreview = () => {},
  onCommit = () => {}, doc = document,
}) {
  setCsrfToken(config.csrf);
  let showFields = () => {};
  let overlaySync = null;

  const editor = {
    K: null, width: 0, height: 0, steps, depthLimits: config.depth_limits || null, view: null,
    pose: pose ? clonePose(pose) : null,
    history: pose ? new PoseHistory(pose) : null, // null until a pose is shown (start())
    canvas: canvas || doc.getElementById('pose-canvas'),
    // the page's keys: config.keymap = {page, user: the user's own map} (static/js/keymap.js)
    keymap: new Keymap(config.keymap?.page, config.keymap?.user),

    /** Build the view for an image ({width, height, K}); the constructor does it when it has the image. */
    mount({ width, height, K }) {
      Object.assign(this, { width, height, K });
      this.view = new HeadView(this.canvas, { width, height, K });
      return this.view;
    },
    getPose() { return this.pose ? clonePose(this.pose) : null; },
    /** Show a pose without making it an undo step (while dragging); null hides the head. */
    preview(next) {
      const wasHidden = this.pose === null;
      this.pose = next ? clonePose(next) : null;
      if (this.pose) {
        if (wasHidden) this.view.setHeadVisible(true);
        this.view.setPose(this.pose.R, this.pose.t);
      } else {
        this.view.setHeadVisible(false);
      }
      if (this.pose) showFields();
      onPreview(this.pose);
    },
    /** Make the shown pose an undo step. */
    commit() {
      if (!this.history) { this.history = new PoseHistory(this.pose); return; }
      onCommit(this.history.push(this.pose));
    },
    set(next) { this.preview(next); this.commit(); },
    /** Show `next` as a fresh start: no undo step before it (the timeline, on each frame). */
    start(next) {
      this.history = next ? new PoseHistory(next) : null;
      this.preview(next);
    },
    undo() { if (this.history) { this.preview(this.history.undo()); onCommit(true); } },
    redo() { if (this.history) { this.preview(this.history.redo()); onCommit(true); } },
    ...nudges,

    /** The numeric pose fields (panel.js) in `form`. */
    bindFields(form = doc.getElementById('pose-fields')) { showFields = bindPoseFields(form, this); },

    /** Mouse on the canvas and the keyboard (controls.js). `actions` adds to
     * undo, redo, toggle(name) and opacity(delta): reset, accept, save, ... */
    attachControls(actions = {}) {
      attachPointer(this.canvas, this);
      attachKeyboard(this, {
        undo: () => this.undo(), redo: () => this.redo(),
        toggle: (name) => toggleOption(doc, name), opacity: (delta) => stepOpacity(doc, delta),
        ...actions,
      });
    },

    /** The face box and 2D landmarks over the image (#overlay), shown while #opt-landmarks is checked. */
    drawOverlay(face, svg = doc.getElementById('overlay')) {
      const group = drawOverlay(svg, { width: this.width, height: this.height, box: face.box, landmarks: face.landmarks_2d });
      const box = doc.getElementById('opt-landmarks');
      const sync = () => { group.style.display = box.checked ? '' : 'none'; };
      // drawn again for each face the labeling page shows in place: one listener, on the newest marks
      if (overlaySync) box.removeEventListener('change', overlaySync);
      overlaySync = sync;
      box.addEventListener('change', sync);
      sync();
      return group;
    },

    /** Show another image (the labeling page's next face) under the same scene and head: its size and K. */
    showImage({ width, height, K }) {
      Object.assign(this, { width, height, K });
      this.view.setImage({ width, height, K });
    },

    /** The view options the page has: #opt-wireframe, #opt-axes, #opt-opacity (else `opacity`). */
    bindViewOptions(opacity = null) {
      const el = (name) => doc.getElementById(`opt-${name}`);
      el('wireframe')?.addEventListener('change', (e) => this.view.setWireframe(e.target.checked));
      el('axes')?.addEventListener('change', (e) => this.view.setAxesVisible(e.target.checked));
      const slider = el('opacity');
      slider?.addEventListener('input', (e) => this.view.setOpacity(parseFloat(e.target.value)));
      const value = slider ? parseFloat(slider.value) : opacity;
      if (value !== null) this.view.setOpacity(value);
    },

    /** Load the head mesh; #stage-msg says when head.glb is missing. Resolves when the head is drawn. */
    async loadHead(url = config.urls.mesh) {
      await this.view.loadHead(url);
      const msg = doc.getElementById('stage-msg');
      if (this.view.meshSource === 'glb') msg.hidden = true;
      else { msg.hidden = false; msg.textContent = MISSING_MESH; }
    },
  };
  if (image) editor.mount(image);
  editor.api = coreApi(editor, config);
  attachHelp({ keymap: editor.keymap, url: config.urls?.keymap, steps, doc }); // "?": every shortcut of the page
  return editor;
}

/** Seconds spent visible and in use on the page (active_time.js), counted from now. */
export function trackActiveTime(doc = document, timers = window) {
  const activeTime = new ActiveTime({
    now: () => performance.now(), isVisible: () => doc.visibilityState === 'visible',
  });
  ['pointerdown', 'pointermove', 'keydown', 'wheel'].forEach((t) =>
    doc.addEventListener(t, () => activeTime.input(), { passive: true }));
  activeTime.start(timers.setInterval.bind(timers));
  return activeTime;
}

/** window.headposeEditor's core, the same on every page:
 *   ready (set by the page), config, getPose() -> {R: 9 numbers row-major, t: 3 numbers mm}
 *   (camera frame, OpenCV) or null, setPose({R, t}), undo(), redo(), and for tests and
 *   tools the renderer, on-demand frames and marker dots. Pages add theirs with extend(). */
function coreApi(editor, config) {
  return {
    ready: null,
    config,
    getPose: () => editor.getPose(),
    setPose(pose) { editor.set(checkPose(pose)); },
    undo: () => editor.undo(),
    redo: () => editor.redo(),
    renderNow: () => editor.view.renderNow(),
    rendererInfo: () => editor.view.rendererInfo(),
    showMarkers: (points, colors, size) => editor.view.showMarkers(points, colors, size),
    setHeadVisible: (on) => editor.view.setHeadVisible(on),
    setAxesVisible: (on) => editor.view.setAxesVisible(on),
    get meshSource() { return editor.view ? editor.view.meshSource : undefined; },
    get renderCount() { return editor.view ? editor.view.renderCount : 0; },
    math: { eulerToMatrix, matrixToEuler, matrixToEulerWide },
  };
}

/** Copy `sources`' properties onto `target`, getters kept as getters (a spread would read them once). */
export function extend(target, ...sources) {
  for (const source of sources) Object.defineProperties(target, Object.getOwnPropertyDescriptors(source));
  return target;
}
