// The labeling page: correct a proposed 6DoF head pose over the image.
// window.headposeEditor is the automation API:
//   getPose() -> {R: 9 numbers row-major, t: 3 numbers mm} (camera frame, OpenCV)
//   setPose({R, t}); save({status}) -> Promise; ready -> Promise;
//   landmarks(), pin(index, x, y), unpin(index), solve(): landmark_tool.js;
//   frame() -> this frame's number in its sequence (null outside one);
//   goToFrame(i) opens the sequence editor at frame i (static/js/sequence/).
import { requestJSON } from './api.js';
import { createEditor, extend, trackActiveTime } from './component.js';
import { attachLandmarkTool } from './landmark_tool.js';
import { posesEqual } from './pose.js';
import { saveFeedback } from './save_feedback.js';
import { SaveQueue } from './save_queue.js';

const $ = (id) => document.getElementById(id);

const config = JSON.parse($('editor-config').textContent);
const state = config.state;

// --- the editor (component.js): pose, history, fields, view ----------------------
let landmarkTool = null;
const editor = createEditor({
  config, image: state.image, pose: state.initial,
  onPreview: () => { if (landmarkTool) landmarkTool.refresh(); }, // the landmark tool redraws its handles
  // an undo step (or a move in the history) schedules the draft autosave
  onCommit: (changed) => { if (changed) saves.changed(); updateButtons(); },
});
editor.bindFields();

// --- saving ---------------------------------------------------------------------
// Time spent: seconds the page was visible and in use (active_time.js).
const activeTime = trackActiveTime();

function setSaveState(text, kind = '') {
  const el = $('save-state');
  el.textContent = text;
  el.dataset.kind = kind;
  if (kind === 'ok') feedback().saved();
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
  onFailure: (err, how) => feedback().show(err, how),
});

async function saveAndNext(status, extra = {}) {
  await saves.save({ status, ...extra });
  const next = await requestJSON(config.urls.next, { method: 'POST', body: {} });
  window.location.assign(next.url);
}

function act(promise) { promise.catch(() => {}); }

// A failed save in plain words with what to do, in a banner fixed in the viewport (save_feedback.js);
// "Retry now", or the browser coming back online, retries a save waiting for its retry at once.
function feedback() { return saveFeedback(document, { retryNow: () => saves.retryNow() }); }
function hideError() { feedback().hide(); }
window.addEventListener('online', () => saves.retryNow());

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
};

function updateButtons() {
  $('btn-undo').disabled = !editor.history.canUndo;
  $('btn-redo').disabled = !editor.history.canRedo;
}

$('btn-undo').addEventListener('click', () => editor.undo());
$('btn-redo').addEventListener('click', () => editor.redo());
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

// --- view options, controls, the landmark tool -------------------------------------
editor.drawOverlay(state.face);
editor.bindViewOptions();
$('opt-autosave').addEventListener('change', () => { if (saves.dirty()) saves.changed(); });
editor.attachControls(actions);
landmarkTool = attachLandmarkTool({ editor, state });
editor.preview(editor.pose);
updateButtons();
if (saves.saved.status) setSaveState(`saved · v${saves.saved.version} (${saves.saved.status})`, 'ok');

const ready = editor.loadHead().then(() => {
  editor.view.renderNow();
  window.headposeEditor.readyAt = performance.now(); // ms since navigation start (time to interactive)
  document.body.dataset.editorReady = '1';
});

// The core (component.js) and this page's own.
window.headposeEditor = extend(editor.api, {
  ready,
  save: (options) => saves.save(options),
  get version() { return saves.saved.version; },
  get status() { return saves.saved.status; },
  // landmarks() / pin(index, x, y) / unpin(index) / solve(): see landmark_tool.js
  ...landmarkTool.api,
  frame: () => (config.sequence ? config.sequence.frame_index : null),
  goToFrame(i) { if (config.sequence) window.location.assign(`${config.urls.sequence}#frame=${i}`); },
});
