// The labeling page: correct a proposed 6DoF head pose over the image.
// window.headposeEditor is the automation API:
//   getPose() -> {R: 9 numbers row-major, t: 3 numbers mm} (camera frame, OpenCV)
//   setPose({R, t}); save({status}) -> Promise; ready -> Promise.
import { ConflictError, requestJSON, setCsrfToken } from './api.js';
import { attachKeyboard, attachPointer } from './controls.js';
import { PoseHistory } from './history.js';
import { drawOverlay } from './overlay.js';
import { checkPose, clonePose, eulerToMatrix, matrixToEuler, posesEqual } from './pose.js';
import { HeadView } from './scene.js';

const FINISHED = new Set(['accepted', 'corrected', 'skipped', 'flagged']);
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
  },
  /** Make the shown pose an undo step and schedule the draft autosave. */
  commit() {
    if (this.history.push(this.pose)) { changed(); }
    updateButtons();
  },
  set(pose) { this.preview(pose); this.commit(); },
  nudgeEuler(axis, degrees) {
    const e = matrixToEuler(this.pose.R);
    e[axis] += degrees;
    this.set({ R: eulerToMatrix(...e), t: this.pose.t });
  },
  nudgeT(axis, mm) {
    const t = this.pose.t.slice();
    t[axis] += mm;
    this.set({ R: this.pose.R, t });
  },
};

// --- numeric fields -------------------------------------------------------------
const fields = $('pose-fields');
const names = ['yaw', 'pitch', 'roll', 'tx', 'ty', 'tz'];

function showFields() {
  const e = matrixToEuler(editor.pose.R);
  const values = [...e, ...editor.pose.t];
  names.forEach((n, i) => {
    const input = fields.elements[n];
    if (document.activeElement !== input) input.value = values[i].toFixed(1);
  });
}

function applyFields() {
  const v = names.map((n) => parseFloat(fields.elements[n].value));
  if (!v.every(Number.isFinite)) { showFields(); return; }
  editor.set({ R: eulerToMatrix(v[0], v[1], v[2]), t: v.slice(3) });
}

fields.addEventListener('change', applyFields);
fields.addEventListener('submit', (e) => { e.preventDefault(); applyFields(); document.activeElement.blur(); });
fields.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') { e.preventDefault(); applyFields(); e.target.blur(); }
  if (e.key === 'Escape') { showFields(); e.target.blur(); }
});

// --- saving ---------------------------------------------------------------------
const saved = {
  version: state.annotation ? state.annotation.version : 0,
  status: state.annotation ? state.annotation.status : null,
  pose: state.annotation ? clonePose(state.initial) : null,
};
let chain = Promise.resolve();
let autosaveTimer = 0;
let activeSeconds = 0;
let lastInput = performance.now();

// Time spent: seconds the page was visible and in use (input within 2 minutes).
['pointerdown', 'pointermove', 'keydown', 'wheel'].forEach((t) =>
  document.addEventListener(t, () => { lastInput = performance.now(); }, { passive: true }));
setInterval(() => {
  if (document.visibilityState === 'visible' && performance.now() - lastInput < 120000) activeSeconds += 1;
}, 1000);

function dirty() { return !saved.pose || !posesEqual(saved.pose, editor.pose, 0); }
function autosaveOn() { return $('opt-autosave').checked && (saved.status === null || saved.status === 'draft'); }

function setSaveState(text, kind = '') {
  const el = $('save-state');
  el.textContent = text;
  el.dataset.kind = kind;
}

function changed() {
  hideError();
  clearTimeout(autosaveTimer);
  if (autosaveOn()) {
    setSaveState('draft pending…', 'pending');
    autosaveTimer = setTimeout(() => { save({ status: 'draft' }).catch(() => {}); }, config.autosave_ms);
  } else {
    setSaveState('unsaved changes', 'dirty');
  }
}

/** Save the shown pose with `status`. Saves run one after another, each with
 * the version the previous one produced. Rejects with ConflictError on a 409. */
function save({ status = 'corrected', flag_reason = '', note = '' } = {}) {
  clearTimeout(autosaveTimer);
  const run = async () => {
    const pose = editor.getPose();
    const spent = activeSeconds;
    activeSeconds = 0;
    setSaveState('saving…', 'pending');
    try {
      const body = await requestJSON(config.urls.save, {
        method: 'PUT',
        body: {
          R: pose.R, t: pose.t, status, expected_version: saved.version, time_spent_s: spent,
          flag_reason, note, proposal_id: state.reference.source.proposal_id,
        },
      });
      saved.version = body.version;
      saved.status = body.status;
      saved.pose = pose;
      setSaveState(`${body.status === 'draft' ? 'draft saved' : 'saved'} · v${body.version}`, 'ok');
      $('source-line').textContent = `your label v${body.version} (${body.status})`;
      if (dirty()) changed();
      return body;
    } catch (err) {
      activeSeconds += spent; // not recorded: count it with the next save
      if (err instanceof ConflictError) showConflict(err);
      else showError(err.message);
      setSaveState('not saved', 'bad');
      throw err;
    }
  };
  const result = chain.then(run);
  chain = result.catch(() => {});
  return result;
}

async function saveAndNext(status, extra = {}) {
  await save({ status, ...extra });
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
  saved.version = fresh.annotation ? fresh.annotation.version : 0;
  saved.status = fresh.annotation ? fresh.annotation.status : null;
  saved.pose = fresh.annotation ? clonePose(fresh.initial) : null;
  editor.set(fresh.initial); // the user's own pose stays one undo step back
  $('conflict-banner').hidden = true;
  setSaveState(`loaded v${saved.version}`, 'ok');
});

window.addEventListener('beforeunload', (e) => {
  if (dirty() && saved.pose !== null && !autosaveOn()) { e.preventDefault(); }
});

// --- actions ----------------------------------------------------------------------
const actions = {
  undo() { editor.preview(editor.history.undo()); changed(); updateButtons(); },
  redo() { editor.preview(editor.history.redo()); changed(); updateButtons(); },
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
  toggle(name) {
    const box = $(`opt-${name}`);
    if (box.disabled) return;
    box.checked = !box.checked;
    box.dispatchEvent(new Event('change'));
  },
  opacity(delta) {
    const s = $('opt-opacity');
    s.value = Math.min(1, Math.max(0, parseFloat(s.value) + delta)).toFixed(2);
    s.dispatchEvent(new Event('input'));
  },
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
$('opt-autosave').addEventListener('change', () => { if (dirty()) changed(); });
syncOverlay();
view.setOpacity(parseFloat($('opt-opacity').value));

attachPointer($('pose-canvas'), editor);
attachKeyboard(editor, actions);
editor.preview(editor.pose);
updateButtons();
if (saved.status) setSaveState(`saved · v${saved.version} (${saved.status})`, 'ok');

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
  save: (options) => save(options),
  get version() { return saved.version; },
  get status() { return saved.status; },
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
  math: { eulerToMatrix, matrixToEuler },
};
