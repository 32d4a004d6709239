// The labeling page: correct a proposed 6DoF head pose over the image.
// window.headposeEditor is the automation API:
//   getPose() -> {R: 9 numbers row-major, t: 3 numbers mm} (camera frame, OpenCV)
//   setPose({R, t}); save({status}) -> Promise; ready -> Promise;
//   face() -> {id, shownAt}: the shown face and performance.now() when its image
//   and head were first drawn;
//   landmarks(), pin(index, x, y), unpin(index), solve(): landmark_tool.js;
//   frame() -> this frame's number in its sequence (null outside one);
//   goToFrame(i) opens the sequence editor at frame i (static/js/sequence/).
//
// The page stays loaded from face to face: the next faces are fetched (and
// claimed) ahead while one is worked on (face_queue.js) and shown in place, the
// address bar following (/label/faces/ID/; Back and Forward show the faces
// before and after, a reload the same face). The three.js scene and the head are
// built once. ?flow=reload keeps the page of before (one page load per face),
// which is also what the page falls back to when showing a face in place fails.
import { ConflictError, requestJSON } from './api.js';
import { createEditor, extend, trackActiveTime } from './component.js';
import { FINISHED, FaceQueue, finishesFace } from './face_queue.js';
import { showFace as showFaceParts, showProgress } from './face_view.js';
import { attachLandmarkTool } from './landmark_tool.js';
import { posesEqual } from './pose.js';
import { saveFeedback } from './save_feedback.js';
import { SaveQueue } from './save_queue.js';
import { savesBehind } from './saves_behind.js';

const $ = (id) => document.getElementById(id);

const config = JSON.parse($('editor-config').textContent);
let state = config.state; // the shown face's editor state
const RELOAD_FLOW = new URLSearchParams(window.location.search).get('flow') === 'reload';
const faces = new FaceQueue({ depth: RELOAD_FLOW ? 0 : config.prefetch ?? 1 });
faces.show(state.face.id);
faces.noteProgress(state.progress);
let shown = { id: state.face.id, shownAt: null }; // face(): set once the face is on screen

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

/** The save queue of one face (`faceState`): once another face is shown it
 * keeps that face's last pose and pins (leave()); a save still on its way then
 * goes on behind the shown face, its state on a line of #saves-behind
 * (saves_behind.js) until it ends, its failures in the banners. */
function savesFor(faceState) {
  let frozen = null;
  let before = faceState.annotation ? faceState.annotation.status : null;
  let rejected = Boolean(faceState.annotation && faceState.annotation.review_state === 'rejected');
  const face = {
    id: faceState.face.id, label: faceLabel(faceState), stateUrl: faceState.links.state,
    pose: () => (frozen ? frozen.pose : null), // the pose it was left with
  };
  let line = ['', '']; // the state line's text and kind
  const onState = (text, kind) => {
    line = [text, kind];
    if (saves === queue) setSaveState(text, kind);
    else if (behind.has(queue)) behindView().state(face, text, kind);
  };
  const shownNow = (fn) => (...args) => { if (saves === queue) fn(...args); };
  const queue = new SaveQueue({
    request: requestJSON,
    state: faceState,
    url: faceState.links ? faceState.links.save : config.urls.save,
    getPose: () => (frozen ? frozen.pose : editor.getPose()),
    getLandmarkPins: () => (frozen ? frozen.pins : landmarkTool.pinsForSave()),
    activeTime,
    autosaveMs: config.autosave_ms,
    autosaveChecked: () => $('opt-autosave').checked,
    timers: window,
    onState,
    onEdit: shownNow(hideError),
    onSaved: (body) => {
      if (finishesFace(before, body.status, rejected)) faces.finished();
      before = body.status;
      rejected = false;
      showProgress(document, faces.progress());
      if (saves === queue) { $('origin-line').textContent = `your label v${body.version} (${body.status})`; return; }
      if (!retrying()) feedback().saved();
    },
    onFailure: (err, how) => {
      if (err instanceof ConflictError) conflictOf = saves === queue ? null : face;
      feedback().show(err, { ...how, about: saves === queue ? '' : face.label });
    },
  });
  // a save that may finish the face: the progress readings asked meanwhile are set aside (face_queue.js)
  const save = queue.save.bind(queue);
  queue.save = (options = {}) => {
    // pins and pose never part: a correction whose pins disagree with its pose waits (landmark_tool.checkSave)
    if (queue.refuses(options.status ?? 'corrected')) {
      return Promise.reject(new Error('the pins do not match the pose: re-solve or clear them'));
    }
    if (!FINISHED.includes(options.status ?? 'corrected')) return save(options);
    faces.saveStarted();
    const saved = save(options);
    saved.then(() => faces.saveEnded(), () => faces.saveEnded());
    return saved;
  };
  /** A save with `status` may not go (a correction whose pins disagree with the pose): says why. */
  queue.refuses = (status) => {
    if (frozen || landmarkTool.checkSave(status)) return false;
    setSaveState('not saved: the pins do not match the pose', 'bad');
    return true;
  };
  /** Another face is shown: keep this one's pose and pins, save a pending draft
   * now (unless a save already on its way sends them), and keep the saves still
   * on their way in view until they end. */
  queue.leave = () => {
    frozen = { pose: editor.getPose(), pins: landmarkTool.pinsForSave() };
    if (!queue.busy() && queue.dirty() && queue.autosaveOn()) act(queue.save({ status: 'draft' }));
    if (!queue.busy()) return;
    behind.add(queue);
    behindView().state(face, ...line);
    queue.idle().then(() => behind.delete(queue)); // its line: gone after "saved", kept after a failure
  };
  queue.faceId = face.id;
  return queue;
}

/** The queues of faces no longer shown whose saves are still on their way. */
const behind = new Set();
const retrying = () => saves.retry !== null || [...behind].some((q) => q.retry !== null);
/** The face whose save behind the shown one met a conflict ("Load their version" goes back to it). */
let conflictOf = null;
function behindView() { return savesBehind(document, { goBack: (face) => backTo(face) }); }
function faceLabel(faceState) {
  const index = faceState.face.index ? ` · face ${faceState.face.index}` : '';
  return `${faceState.image.file_name}${index}`;
}
/** Every save of the page has ended (the ones behind the shown face too). */
async function allSaved() {
  await Promise.all([saves, ...behind].map((q) => q.idle()));
}
/** Leave the page for `url` once no save is on its way (a save waiting for its retry would be lost). */
async function leaveFor(url, reload = false) {
  await allSaved();
  if (reload) window.location.reload(); else window.location.assign(url);
}
let saves = savesFor(state);

/** Save the shown face and show the next one at once: the save goes on behind
 * it (retried with backoff while it fails on the way, its state on
 * #saves-behind), the face left out of the next requests until the save ends.
 * The reload flow waits for the save, then loads the next face's page. */
async function saveAndNext(status, extra = {}) {
  if (moving) return; // the next face is on its way: a second press must not skip it
  if (!RELOAD_FLOW && saves.refuses(status)) return; // the pins do not match the pose: the page says why
  moving = true;
  try {
    const saved = saves.save({ status, ...extra });
    if (RELOAD_FLOW) {
      await saved;
      const next = await requestJSON(config.urls.next, { method: 'POST', body: {} });
      window.location.assign(withFlow(next.url));
      return;
    }
    act(saved);
    saved.finally(faces.savingFace(state.face.id)).catch(() => {});
    await advance();
  } finally {
    moving = false;
  }
}

function act(promise) { promise.catch(() => {}); }

// --- the next faces, in place ------------------------------------------------------
let moving = false; // a save-and-next or a history move is under way
let navigation = Promise.resolve(); // history moves, one after another

const withFlow = (url) => (RELOAD_FLOW ? `${url}${url.includes('?') ? '&' : '?'}flow=reload` : url);
const fetchNext = (exclude) => requestJSON(config.urls.next, { method: 'POST', body: { exclude, with_state: true } });

/** Start loading and decoding an image; resolves (with it) when it can be drawn at once. */
function preload(url) {
  const img = new Image();
  img.src = url;
  return img.decode().then(() => img, () => img); // a broken image shows broken, as on a page load
}
const prepare = (entry) => preload(entry.state.links.image);

/** Keep `config.prefetch` faces fetched, claimed and decoded ahead. */
function refill() {
  if (faces.wants()) faces.fill(fetchNext, prepare).catch((err) => console.warn('could not fetch the next face ahead:', err));
}

/** Give back the claims on faces fetched ahead that will not be shown. */
function release(ids) {
  if (ids.length) requestJSON(config.urls.release, { method: 'POST', body: { face_ids: ids } }).catch(() => {});
}

/** The page closes: give back the faces fetched ahead (a beacon outlives the page; the token travels as a form field). */
function releaseOnClose() {
  const ids = faces.dropAll();
  if (!ids.length) return;
  const body = new URLSearchParams({ csrfmiddlewaretoken: config.csrf });
  for (const id of ids) body.append('face_ids', String(id));
  if (!navigator.sendBeacon(config.urls.release, body)) {
    fetch(config.urls.release, { method: 'POST', body, keepalive: true, credentials: 'same-origin' }).catch(() => {});
  }
}

/** After a save: show the next face in place; when that fails, load its page (the flow of before). */
async function advance() {
  let entry = null;
  try {
    const next = await faces.next(fetchNext, prepare);
    release(next.stale);
    entry = next.entry;
    if (!entry) { await leaveFor(next.url || config.urls.dataset); return; } // nothing left
    await showFace(entry.state, { push: true, image: entry.ready });
  } catch (err) {
    console.warn('could not show the next face in place; loading its page:', err);
    if (entry) { await leaveFor(entry.state.links.page); return; }
    await allSaved();
    const next = await requestJSON(config.urls.next, { method: 'POST', body: { exclude: faces.held() } });
    window.location.assign(next.url);
    return;
  }
  refill();
}

/** Back or Forward: show face `id` (its state asked afresh, once its saves still
 * on their way have ended: it may have been saved since). `push`: a new history
 * entry (Back to it, Load their version); `keep`: the pose the annotator had
 * there, one undo step back (a conflict) or shown (a refused save). */
async function goTo(id, stateUrl, { push = false, keep = null, conflict = false } = {}) {
  if (id === state.face.id) return;
  if (saves.wouldLoseEdits() && !window.confirm('Leave this face without saving your changes?')) {
    if (!push) window.history.pushState({ faceId: state.face.id, stateUrl: state.links.state }, '', state.links.page);
    return;
  }
  moving = true;
  try {
    await Promise.all([...behind].filter((q) => q.faceId === id).map((q) => q.idle()));
    const ticket = faces.ticket();
    const fresh = await requestJSON(stateUrl);
    faces.noteProgress(fresh.progress, ticket);
    await showFace(fresh, { push, image: preload(fresh.links.image) });
    behindView().drop(id);
    if (keep && conflict) { editor.start(keep); editor.set(fresh.initial); } else if (keep) editor.set(keep);
  } catch (err) {
    console.warn('could not show that face in place; loading its page:', err);
    await leaveFor(null, true);
    return;
  } finally {
    moving = false;
  }
  refill();
}

/** Back to a face whose save failed for good behind the shown one (its line's
 * "Back to it", or "Load their version" after a conflict), with the pose it was left with. */
function backTo(face, { conflict = false } = {}) {
  navigation = navigation.then(() => goTo(face.id, face.stateUrl, { push: true, keep: face.pose(), conflict }))
    .catch(() => {});
}

const nextFrame = () => new Promise((resolve) => { requestAnimationFrame(() => resolve(performance.now())); });

/** Show face `next` (an editor state) in place: the image, the head's pose, the
 * panel, the landmark tool, a save queue of its own; `push`: a new history entry. */
async function showFace(next, { push = false, image = null } = {}) {
  if (image) await image; // decoded: it is drawn with the head, in the same frame
  saves.leave();
  state = next;
  config.state = next;
  faces.show(next.face.id);
  Object.assign(config.urls, { state: next.links.state, save: next.links.save, image: next.links.image });
  config.sequence = next.sequence ? { id: next.sequence.id, frame_index: next.sequence.frame_index } : undefined;
  if (next.sequence) config.urls.sequence = next.sequence.url;
  const img = $('face-image');
  img.src = next.links.image;
  editor.showImage(next.image);
  showFaceParts(document, next, faces.progress());
  editor.drawOverlay(next.face);
  landmarkTool.load(next);
  editor.start(next.initial);
  saves = savesFor(next);
  updateButtons();
  setSaveState(saves.saved.status ? `saved · v${saves.saved.version} (${saves.saved.status})` : '', saves.saved.status ? 'ok' : '');
  if (push) window.history.pushState({ faceId: next.face.id, stateUrl: next.links.state }, '', next.links.page);
  // decoded ahead (preload), the image is complete at once; the head is drawn in the next frame
  // (the view's own requestAnimationFrame, which runs before this one's)
  if (!img.complete) await new Promise((resolve) => { img.addEventListener('load', resolve, { once: true }); img.addEventListener('error', resolve, { once: true }); });
  const at = await nextFrame();
  shown = { id: next.face.id, shownAt: at };
}

window.history.replaceState({ faceId: state.face.id, stateUrl: config.urls.state }, '', window.location.href);
window.addEventListener('popstate', (e) => {
  const to = e.state;
  if (!to || !to.faceId || RELOAD_FLOW) return;
  navigation = navigation.then(() => goTo(to.faceId, to.stateUrl)).catch(() => {});
});
window.addEventListener('pagehide', releaseOnClose);
window.addEventListener('pageshow', (e) => { if (e.persisted) refill(); }); // back from the bfcache: fetch ahead again

// A failed save in plain words with what to do, in a banner fixed in the viewport (save_feedback.js);
// "Retry now", or the browser coming back online, retries a save waiting for its retry at once.
function feedback() { return saveFeedback(document, { retryNow: retryAll }); }
function hideError() { feedback().hide(); }
function retryAll() { for (const q of [saves, ...behind]) q.retryNow(); }
window.addEventListener('online', retryAll);

$('conflict-reload').addEventListener('click', async () => {
  if (conflictOf) { // a face left behind: back to it, their version shown, the annotator's pose one undo back
    const face = conflictOf;
    conflictOf = null;
    $('conflict-banner').hidden = true;
    behindView().drop(face.id);
    backTo(face, { conflict: true });
    return;
  }
  const fresh = await requestJSON(config.urls.state);
  saves.load(fresh);
  editor.set(fresh.initial); // the user's own pose stays one undo step back
  $('conflict-banner').hidden = true;
  setSaveState(`loaded v${saves.saved.version}`, 'ok');
});

window.addEventListener('beforeunload', (e) => {
  // a save waiting for its retry (this face's or one behind it) would be lost
  if (saves.wouldLoseEdits() || [...behind].some((q) => q.retry !== null)) { e.preventDefault(); }
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
  landmarkTool.afterHead(); // the proposals' outlines need the head's mesh
  editor.view.renderNow();
  window.headposeEditor.readyAt = performance.now(); // ms since navigation start (time to interactive)
  document.body.dataset.editorReady = '1';
  firstShown();
  refill();
});

/** face().shownAt of the page's first face: its image decoded and the head drawn, a frame later. */
async function firstShown() {
  const id = state.face.id;
  await $('face-image').decode().catch(() => {});
  const at = await nextFrame();
  if (shown.shownAt === null && shown.id === id) shown = { id, shownAt: at };
}

// The core (component.js) and this page's own.
window.headposeEditor = extend(editor.api, {
  ready,
  save: (options) => saves.save(options),
  get version() { return saves.saved.version; },
  get status() { return saves.saved.status; },
  face: () => ({ ...shown }),
  prefetched: () => faces.ahead.map((e) => e.id), // faces fetched and claimed ahead
  // landmarks() / pin(index, x, y) / unpin(index) / solve(): see landmark_tool.js
  ...landmarkTool.api,
  frame: () => (config.sequence ? config.sequence.frame_index : null),
  goToFrame(i) { if (config.sequence) window.location.assign(`${config.urls.sequence}#frame=${i}`); },
});
