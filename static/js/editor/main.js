// The labeling page: correct a proposed 6DoF head pose over the image.
// window.headposeEditor is the automation API:
//   getPose() -> {R: 9 numbers row-major, t: 3 numbers mm} (camera frame, OpenCV)
//   setPose({R, t}); save({status}) -> Promise; ready -> Promise;
//   landmarks(), pin(index, x, y), unpin(index), solve(): landmark_tool.js;
//   frame() -> this frame's number in its sequence (null outside one);
//   goToFrame(i) opens the sequence editor at frame i (static/js/sequence/).
import { ActiveTime } from './active_time.js';
import { ConflictError, requestJSON, setCsrfToken } from './api.js';
import { attachKeyboard, attachPointer } from './controls.js';
import { PoseHistory } from './history.js';
import { drawOverlay } from './overlay.js';
import { bindPoseFields, nudges, stepOpacity, toggleOption } from './panel.js';
import { checkPose, clonePose, eulerToMatrix, matrixToEuler, matrixToEulerWide, posesEqual } from './pose.js';
import { SaveQueue } from './save_queue.js';
import { HeadView } from './scene.js';
import { attachLandmarkTool } from './landmark_tool.js';

const $ = (id) => document.getElementById(id);

const config = JSON.parse($('editor-config').textContent);
setCsrfToken(config.csrf);
const state = config.state;
const { width, height, K } = state.image;

const view = new HeadView($('pose-canvas'), { width, height, K });

// --- pose, history ------------------------------------------------------------
const editor = {
  K, width, height, steps: config.steps,
  pose: clonePose(state.initial),
  history: new PoseHistory(state.initial),
  getPose() { return clonePose(this.pose); },
  /** Show a pose without making it an undo step (while dragging). */
  preview(pose) {
    this.pose = clonePose(pose);
    view.setPose(this.pose.R, this.pose.t);
    showFields();
    this.onPreview();
  },
  onPreview() {}, // the landmark tool redraws its handles here
  /** Make the shown pose an undo step and schedule the draft autosave. */
  commit() {
    if (this.history.push(this.pose)) { saves.changed(); }
    updateButtons();
  },
  set(pose) { this.preview(pose); this.commit(); },
  ...nudges,
};

// --- numeric fields -------------------------------------------------------------
const showFields = bindPoseFields($('pose-fields'), editor);

// --- saving ---------------------------------------------------------------------
// Time spent: seconds the page was visible and in use (active_time.js).
const activeTime = new ActiveTime({
  now: () => performance.now(), isVisible: () => document.visibilityState === 'visible',
});
['pointerdown', 'pointermove', 'keydown', 'wheel'].forEach((t) =>
  document.addEventListener(t, () => activeTime.input(), { passive: true }));
activeTime.start(setInterval);

function setSaveState(text, kind = '') {
  const el = $('save-state');
  el.textContent = text;
  el.dataset.kind = kind;
}

const saves = new SaveQueue({
  request: requestJSON,
  state,
  url: config.urls.save,
  getPose: () => editor.getPose(),
  getLandmarkPins: () => landmarkTool.pinsForSave(),
  activeTime,
  autosaveMs: config.autosave_ms,
  autosaveChecked: () => $('opt-autosave').checked,
  timers: window,
  onState: setSaveState,
  onEdit: hideError,
  onSaved: (body) => { $('origin-line').textContent = `your label v${body.version} (${body.status})`; },
  onFailure: (err) => { if (err instanceof ConflictError) showConflict(err); else showError(err.message); },
});

async function saveAndNext(status, extra = {}) {
  await saves.save({ status, ...extra });
  const next = await requestJSON(config.urls.next, { method: 'POST', body: {} });
  window.location.assign(next.url);
}

function act(promise) { promise.catch(() => {}); }

function showError(text) { const b = $('error-banner'); b.textContent = text; b.hidden = false; }
function hideError() { $('error-banner').hidden = true; }

function showConflict(err) {
  $('conflict-text').textContent = err.message;
  $('conflict-banner').hidden = false;
}

$('conflict-reload').addEventListener('click', async () => {
  const fresh = await requestJSON(config.urls.state);
  saves.load(fresh);
  editor.set(fresh.initial); // the user's own pose stays one undo step back
  $('conflict-banner').hidden = true;
  setSaveState(`loaded v${saves.saved.version}`, 'ok');
});

window.addEventListener('beforeunload', (e) => {
  if (saves.wouldLoseEdits()) { e.preventDefault(); }
});

// --- actions ----------------------------------------------------------------------
const actions = {
  undo() { editor.preview(editor.history.undo()); saves.changed(); updateButtons(); },
  redo() { editor.preview(editor.history.redo()); saves.changed(); updateButtons(); },
  reset() { editor.set(state.reference); },
  // Accept keeps the proposal as it is; a moved pose is a correction.
  accept() {
    const status = posesEqual(editor.pose, state.reference, 1e-9) || posesEqual(editor.pose, state.initial, 1e-9)
      ? 'accepted' : 'corrected';
    act(saveAndNext(status));
  },
  save() { act(saveAndNext('corrected')); },
  skip() { act(saveAndNext('skipped')); },
  flag() { $('flag-dialog').showModal(); },
  toggle: (name) => toggleOption(document, name),
  opacity: (delta) => stepOpacity(document, delta),
};

function updateButtons() {
  $('btn-undo').disabled = !editor.history.canUndo;
  $('btn-redo').disabled = !editor.history.canRedo;
}

$('btn-undo').addEventListener('click', actions.undo);
$('btn-redo').addEventListener('click', actions.redo);
$('btn-reset').addEventListener('click', actions.reset);
$('btn-accept').addEventListener('click', actions.accept);
$('btn-save').addEventListener('click', actions.save);
$('btn-skip').addEventListener('click', actions.skip);
$('btn-flag').addEventListener('click', actions.flag);

const flagDialog = $('flag-dialog');
flagDialog.addEventListener('keydown', (e) => {
  const i = ['1', '2', '3', '4'].indexOf(e.key);
  if (i >= 0 && e.target.tagName !== 'TEXTAREA') { flagDialog.querySelectorAll('input[name=reason]')[i].checked = true; }
});
flagDialog.addEventListener('close', () => {
  if (flagDialog.returnValue !== 'flag') return;
  const form = $('flag-form');
  act(saveAndNext('flagged', { flag_reason: form.elements.reason.value, note: form.elements.note.value }));
});

// --- view options -----------------------------------------------------------------
const overlay = drawOverlay($('overlay'), { width, height, box: state.face.box, landmarks: state.face.landmarks_2d });
const syncOverlay = () => { overlay.style.display = $('opt-landmarks').checked ? '' : 'none'; };
$('opt-landmarks').addEventListener('change', syncOverlay);
$('opt-wireframe').addEventListener('change', (e) => view.setWireframe(e.target.checked));
$('opt-axes').addEventListener('change', (e) => view.setAxesVisible(e.target.checked));
$('opt-opacity').addEventListener('input', (e) => view.setOpacity(parseFloat(e.target.value)));
$('opt-autosave').addEventListener('change', () => { if (saves.dirty()) saves.changed(); });
syncOverlay();
view.setOpacity(parseFloat($('opt-opacity').value));

attachPointer($('pose-canvas'), editor);
attachKeyboard(editor, actions);
const landmarkTool = attachLandmarkTool({ editor, state });
editor.onPreview = () => landmarkTool.refresh();
editor.preview(editor.pose);
updateButtons();
if (saves.saved.status) setSaveState(`saved · v${saves.saved.version} (${saves.saved.status})`, 'ok');

const ready = view.loadHead(config.urls.mesh).then(() => {
  const msg = $('stage-msg');
  if (view.meshSource === 'glb') msg.hidden = true;
  else msg.textContent = 'head.glb is missing: showing an ellipsoid head';
  view.renderNow();
  window.headposeEditor.readyAt = performance.now(); // ms since navigation start (time to interactive)
  document.body.dataset.editorReady = '1';
});

window.headposeEditor = {
  ready,
  config,
  getPose: () => editor.getPose(),
  setPose(pose) { editor.set(checkPose(pose)); },
  save: (options) => saves.save(options),
  get version() { return saves.saved.version; },
  get status() { return saves.saved.status; },
  undo: () => actions.undo(),
  redo: () => actions.redo(),
  // For tests and tools: the renderer, on-demand frames and marker dots.
  renderNow: () => view.renderNow(),
  rendererInfo: () => view.rendererInfo(),
  showMarkers: (points, colors, size) => view.showMarkers(points, colors, size),
  setHeadVisible: (on) => view.setHeadVisible(on),
  setAxesVisible: (on) => view.setAxesVisible(on),
  get meshSource() { return view.meshSource; },
  get renderCount() { return view.renderCount; },
  math: { eulerToMatrix, matrixToEuler, matrixToEulerWide },
  // landmarks() / pin(index, x, y) / unpin(index) / solve(): see landmark_tool.js
  ...landmarkTool.api,
  frame: () => (config.sequence ? config.sequence.frame_index : null),
  goToFrame(i) { if (config.sequence) window.location.assign(`${config.urls.sequence}#frame=${i}`); },
};
