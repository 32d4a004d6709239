// The review page: the label under review drawn by the labeling page's
// renderer (static/js/editor: the photo, the head mesh at the label's pose with
// the image's K), the other labels and the proposal as ghosts, and the verdict:
// approve, reject (reason + note) or correct (edit the pose, save it as the
// reviewer's revision). The editor is static/js/editor/component.js; this page
// adds the ghosts, the angles and the verdict keys. window.headposeReview is the
// automation API: the editor's core (getPose, setPose, renderNow, ...) plus mode,
// visibleGhosts, approve(), reject(reason, note), saveCorrection(); it is also
// window.headposeEditor, as on the other editor pages.
import { requestJSON } from '../editor/api.js';
import { createEditor, extend, trackActiveTime } from '../editor/component.js';
import { typing } from '../editor/controls.js';
import { clonePose, posesEqual } from '../editor/pose.js';
import { Retrier } from '../editor/retry.js';
import { saveFeedback } from '../editor/save_feedback.js';
import { attachStageZoom } from '../editor/stage_zoom.js';
import { geodesicDegrees } from './angles.js';
import { GhostHeads } from './ghost_heads.js';
import { GhostCycle, ghostColors } from './ghosts.js';
import { reasonIndex, reviewAction } from './keys.js';

const $ = (id) => document.getElementById(id);

const config = JSON.parse($('review-config').textContent);
const state = config.state;
const labelPose = clonePose(state.poses[0]); // the label under review

// --- mode: reviewing, or correcting the pose ------------------------------------
let mode = 'reviewing';

function setMode(next) {
  mode = next;
  const correcting = mode === 'correcting';
  $('mode-line').dataset.mode = mode;
  const k = (id) => `<b>${editor.keymap.label(id)}</b>`;
  $('mode-line').innerHTML = correcting
    ? `Correcting: ${k('save')} save the correction · ${k('reset')} or <b>Esc</b> back to the label`
    : `Reviewing: ${k('accept')} approve · ${k('reject')} reject · ${k('correct')} correct`;
  $('btn-save-correction').hidden = !correcting;
  $('btn-cancel-correction').hidden = !correcting;
  $('btn-correct').hidden = correcting;
  $('btn-approve').disabled = correcting;
  $('correction-angle').hidden = !correcting;
  showCorrectionAngle();
}

// --- the pose: the editor (component.js) at the label's pose -------------------------
const editor = createEditor({
  config, image: state.image, pose: labelPose,
  onPreview(pose) {
    // any edit of the pose starts a correction
    if (mode !== 'correcting' && !posesEqual(pose, labelPose, 0)) setMode('correcting');
    showCorrectionAngle();
  },
});
editor.bindFields();

function showCorrectionAngle() {
  $('correction-angle').lastElementChild.textContent = `${geodesicDegrees(labelPose.R, editor.pose.R).toFixed(1)}°`;
}

// --- talking to the server ------------------------------------------------------------
const activeTime = trackActiveTime();

let busy = false;

function setStatus(text, kind = '') { const el = $('save-state'); el.textContent = text; el.dataset.kind = kind; }

// A verdict that fails on the way (no connection, the server busy or down) is
// retried with backoff, the countdown on the state line, the reason in plain
// words in the banner fixed in view with "Retry now" (retry.js, save_feedback.js,
// as on the labeling page); a refusal or a conflict is not retried.
const feedback = () => saveFeedback(document, { retryNow: () => retrier.now() });
const retrier = new Retrier({
  timers: window,
  onWait: (text) => setStatus(text, 'retry'),
  onFailure: (err, how) => feedback().show(err, how),
});
window.addEventListener('online', () => retrier.now());
window.addEventListener('beforeunload', (e) => { if (busy) e.preventDefault(); }); // a verdict on its way

/** Send a verdict on the version shown (expected_version, required: a label saved
 * again, or judged by another reviewer, since it was shown is a 409 and the conflict
 * banner). Resolves with the server's answer once it is stored. */
async function send(url, method, body) {
  if (busy) return null;
  busy = true;
  const sent = { ...body, expected_version: state.annotation.version };
  try {
    const result = await retrier.run((attempt) => {
      setStatus(attempt === 1 ? 'saving…' : `saving… (try ${attempt})`, 'pending');
      return requestJSON(url, { method, body: sent });
    });
    // a verdict is a new version: what the page shows now is that one
    state.annotation.version = result.version;
    state.annotation.review_state = result.review_state;
    setStatus(`${result.review_state} · v${result.version}`, 'ok');
    feedback().saved();
    return result;
  } catch (err) {
    setStatus('not saved', 'bad');
    feedback().show(err, { retrying: false });
    throw err;
  } finally {
    busy = false;
  }
}

async function next(skip = false) {
  const body = skip ? { skip_annotation_id: state.annotation.id } : {};
  const answer = await requestJSON(config.urls.next, { method: 'POST', body });
  window.location.assign(answer.url);
}

const act = (promise) => { promise.catch(() => {}); };
const thenNext = (promise) => promise.then((r) => (r ? next() : null));

const actions = {
  approve: () => thenNext(send(config.urls.decision, 'POST', { decision: 'approved' })),
  reject: (reason, note = '') => thenNext(send(config.urls.decision, 'POST', { decision: 'rejected', reason, note })),
  saveCorrection() {
    const spent = activeTime.take();
    return thenNext(send(config.urls.correction, 'PUT', { ...editor.getPose(), time_spent_s: spent })
      .catch((err) => { activeTime.giveBack(spent); throw err; }));
  },
  correct() { setMode('correcting'); $('pose-canvas').focus({ preventScroll: true }); },
  cancelCorrection() { editor.set(labelPose); setMode('reviewing'); },
  next: () => next(true),
  ghosts() { ghosts.show(cycle.next()); syncGhostBoxes(); },
};

// --- ghosts -------------------------------------------------------------------------------
const ghostPoses = state.poses.slice(1);
const colors = ghostColors(ghostPoses);
const cycle = new GhostCycle(ghostPoses.map((p) => p.key));
let ghosts = { show() {} };
const hex = (c) => `#${c.toString(16).padStart(6, '0')}`;
document.querySelectorAll('[data-ghost-swatch]').forEach((el) => {
  el.style.setProperty('--swatch', hex(colors[el.dataset.ghostSwatch]));
});
const ghostBoxes = [...document.querySelectorAll('input[data-ghost]')];
function syncGhostBoxes() { const on = cycle.visible; ghostBoxes.forEach((b) => { b.checked = on.has(b.dataset.ghost); }); }
ghostBoxes.forEach((b) => b.addEventListener('change', () => {
  ghosts.show(cycle.setVisible(ghostBoxes.filter((x) => x.checked).map((x) => x.dataset.ghost)));
}));

// --- buttons, dialog, keys -----------------------------------------------------------------
$('btn-approve').addEventListener('click', () => act(actions.approve()));
$('btn-reject').addEventListener('click', () => $('reject-dialog').showModal());
$('btn-correct').addEventListener('click', actions.correct);
$('btn-save-correction').addEventListener('click', () => act(actions.saveCorrection()));
$('btn-cancel-correction').addEventListener('click', actions.cancelCorrection);
$('btn-next').addEventListener('click', () => act(actions.next()));
$('conflict-reload').addEventListener('click', () => window.location.reload());

const rejectDialog = $('reject-dialog');
const reasonBoxes = [...rejectDialog.querySelectorAll('input[name=reason]')];
rejectDialog.addEventListener('keydown', (e) => {
  const i = reasonIndex(e.key, reasonBoxes.length);
  if (i >= 0 && e.target.tagName !== 'TEXTAREA') { reasonBoxes[i].checked = true; e.preventDefault(); }
});
rejectDialog.addEventListener('close', () => {
  if (rejectDialog.returnValue !== 'reject') return;
  const form = $('reject-form');
  act(actions.reject(form.elements.reason.value, form.elements.note.value));
});

// Registered before the editor's keys: a key handled here never reaches controls.js.
document.addEventListener('keydown', (e) => {
  if (typing(e.target) || document.querySelector('dialog[open]')) return;
  const hit = editor.keymap.resolve(e);
  const action = hit && reviewAction(hit.action, mode);
  if (!action) return;
  e.preventDefault();
  if (action === 'reject') rejectDialog.showModal();
  else if (action !== 'ignore') act(Promise.resolve(actions[action]()));
});

// W, M and [ ] from the editor; no save keys: the verdict keys above have them. The wheel zooms.
editor.attachControls();
attachStageZoom({
  stage: $('stage'), elements: [$('face-image'), editor.canvas, $('overlay')], imageWidth: state.image.width,
  keymap: editor.keymap,
});
editor.drawOverlay(state.face);
editor.bindViewOptions();
editor.preview(editor.pose);
setMode('reviewing');

const ready = editor.loadHead().then(() => {
  ghosts = new GhostHeads(editor.view, ghostPoses, colors);
  ghosts.show(cycle.visible);
  editor.view.renderNow();
  document.body.dataset.reviewReady = '1';
});

// The editor's core (component.js) and the review's own; the same object under both names.
window.headposeReview = extend(editor.api, {
  ready,
  get mode() { return mode; },
  get visibleGhosts() { return [...cycle.visible]; },
  approve: () => actions.approve(),
  reject: (reason, note) => actions.reject(reason, note),
  saveCorrection: () => actions.saveCorrection(),
});
window.headposeEditor = window.headposeReview;
