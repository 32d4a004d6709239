// The sequence editor page: the frame with the head at its label's pose, the
// timeline (ticks, keyframes, label bands, spikes, playhead, scrubber) and the
// strip chart of the gap to the raw proposal. Keyframes are saved through the
// faces' save API; the server then recomputes every frame's label (one source
// of truth: annotator/selectors_sequences.py + workers/core/tracking).
// The head is drawn and edited by the editor the labeling and review pages use
// (static/js/editor/component.js: the drag, the pose keys, the fields, undo):
// the shown frame is corrected in place and S / Enter makes it the keyframe;
// this page adds the timeline and keyframes. An edit pauses playback; going to
// another frame leaves an unsaved edit (the frame shows its label again).
// The labeling page's landmark tool (landmark_tool.js: handles, pins, the solve,
// the guard, Snap, the proposals, the feature lines, the zoom) works on the
// shown frame's face once playback stops: its pins, own landmarks and proposals
// come from the face's editor state (GET /api/label/faces/ID/); a keyframe is
// saved with the pins that match its pose (a correction whose pins do not is
// refused, as on the labeling page), and shows them again when visited.
// window.headposeEditor: the editor's core (getPose() -> the shown pose: the
// frame's label, or the edit (a drag, a key, a field, setPose()), which S then keeps as the
// keyframe; setPose, renderNow, rendererInfo, ...) plus frame(), goToFrame(i),
// frameCount, label(), play(), pause(), playing, makeKeyframe(),
// deleteKeyframe(), nextSpike(), drawTimes (ms to show each frame), ready, and the
// landmark tool's landmarks(), pin(index, x, y), unpin(index), pins(), solve(), snap().
import { requestJSON } from '../editor/api.js';
import { createEditor, extend } from '../editor/component.js';
import { typing } from '../editor/controls.js';
import { attachLandmarkTool } from '../editor/landmark_tool.js';
import { posesEqual } from '../editor/pose.js';
import {
  gapPolylines, keyframeSave, nextAfter, playbackPosition, positionAtX, positionsOf, spikePositions, step,
  tickPositions, tickX,
} from './timeline.js';

const $ = (id) => document.getElementById(id);
const NS = 'http://www.w3.org/2000/svg';
const W = 1000; // the timeline's and the chart's viewBox width
const PRELOAD = 30; // frames fetched ahead of the playhead
const OPACITY = 0.45; // the face must show through the head while playing

const config = JSON.parse($('sequence-config').textContent);
// no image yet: mounted once the state says its size; an edit pauses playback
let tool = null; // the landmark tool, once mounted
const editor = createEditor({
  config, onPreview: () => { if (tool) tool.refresh(); }, onCommit: (changed) => { if (changed) edited(); },
});
const url = (template, id) => template.replace('{id}', id);

let state = null;
let position = 0;
let playing = null; // {start, t0, raf}
const drawTimes = [];
const preloaded = new Map();

function svg(tag, attrs, parent) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  parent.append(el);
  return el;
}

function frames() { return state.frames; }
function current() { return frames()[position]; }

/** The shown pose: the frame's label, or one setPose() put there. */
function shownPose() {
  const f = current();
  return editor.getPose() || (f.R ? { R: f.R.slice(), t: f.t && f.t.slice() } : null);
}

function drawTimeline() {
  const n = frames().length;
  const line = $('timeline');
  line.replaceChildren();
  const slot = W / Math.max(n, 1);
  frames().forEach((f, i) => {
    if (f.track_label) svg('rect', { x: i * slot, y: 22, width: Math.max(slot, 0.5), height: 8, class: `band-${f.track_label}` }, line);
  });
  for (const i of tickPositions(n, line.clientWidth || W)) {
    const x = tickX(i, n, W);
    svg('line', { x1: x, x2: x, y1: 14, y2: 20, class: 'tick' }, line);
  }
  for (const i of spikePositions(frames(), state.spikes)) {
    const x = tickX(i, n, W);
    svg('line', { x1: x, x2: x, y1: 0, y2: 12, class: 'spike' }, line);
  }
  for (const i of positionsOf(frames())) {
    const x = tickX(i, n, W);
    svg('rect', { x: x - 4, y: 2, width: 8, height: 10, rx: 2, class: 'key', 'data-position': i }, line);
  }
  const x = tickX(position, n, W);
  svg('line', { id: 'playhead', x1: x, x2: x, y1: 0, y2: 34, class: 'playhead' }, line);
  const chart = $('gap-chart');
  chart.replaceChildren();
  const { top, lines } = gapPolylines(frames().map((f) => f.gap_deg), W, 46);
  for (const points of lines) svg('polyline', { points }, chart);
  $('gap-top').textContent = top.toFixed(0);
  $('scrubber').max = String(Math.max(n - 1, 0));
}

function preload(from) {
  for (let i = from; i < Math.min(from + PRELOAD, frames().length); i++) {
    const id = frames()[i].image;
    if (!preloaded.has(id)) {
      const img = new Image();
      img.src = url(config.urls.image, id);
      preloaded.set(id, img);
    }
  }
}

/** The shown pose was edited: playback stops, the panel says it is not kept yet. */
function edited() {
  pause();
  updateButtons();
  if (current().face !== null) setSaveState('edited: S / Enter makes this pose the keyframe', 'pending');
}

function updateButtons() {
  $('btn-undo').disabled = !editor.history || !editor.history.canUndo;
  $('btn-redo').disabled = !editor.history || !editor.history.canRedo;
  $('btn-reset').disabled = !current().R;
}

/** Back to this frame's label: the edit is left. */
function resetToLabel() {
  const f = current();
  if (f.R && f.t) editor.set({ R: f.R, t: f.t });
}

function show(i) {
  const t0 = performance.now();
  position = Math.max(0, Math.min(i, frames().length - 1));
  const f = current();
  const src = url(config.urls.image, f.image);
  if ($('frame-image').getAttribute('src') !== src) $('frame-image').setAttribute('src', src);
  if ($('save-state').dataset.kind === 'pending') setSaveState(''); // an unsaved edit is left
  editor.start(f.R && f.t ? { R: f.R, t: f.t } : null); // each frame starts its own undo history
  updateButtons();
  editor.view.renderNow();
  const x = tickX(position, frames().length, W);
  const head = $('playhead');
  if (head) { head.setAttribute('x1', x); head.setAttribute('x2', x); }
  $('scrubber').value = String(position);
  $('frame-line').textContent = `${position + 1} / ${frames().length} · frame ${f.frame_index}`;
  $('label-line').textContent = f.track_label ? f.track_label.replace('_', ' ') + (f.author ? ` (${f.author})` : '') : 'no pose';
  $('label-line').dataset.label = f.track_label || '';
  $('gap-line').textContent = f.gap_deg === null ? 'no raw proposal on this frame'
    : `gap to the raw proposal: ${f.gap_deg.toFixed(1)}°`;
  $('btn-delete-keyframe').disabled = f.track_label !== 'keyframe';
  $('btn-keyframe').disabled = f.face === null || !f.R;
  preload(position + 1);
  drawTimes.push(performance.now() - t0);
  showFrameFace();
}

// --- the landmark tool on the shown frame's face ------------------------------------------
const NO_FACE = { annotation: null, proposals: [], face_landmarks_ibug68: null };
let toolFace = null; // the face whose pins, landmarks and proposals the tool holds
let faceAsked = 0; // the newest request for a face's state (older answers are dropped)

/** The tool follows the shown frame: cleared at once when the frame changes (no pin of
 * another frame is ever saved), then the face's state asked for once playback stops.
 * Its pins are shown when they belong to the pose shown (the caller's keyframe). */
async function showFrameFace() {
  const f = current();
  const asked = ++faceAsked;
  if (toolFace !== null && toolFace !== f.face) {
    tool.load(NO_FACE, { keepZoom: true });
    toolFace = null;
    $('proposal-block').hidden = true;
  }
  if (f.face === null || playing || toolFace === f.face) return;
  let face;
  try { face = await requestJSON(url(config.urls.face, f.face)); } catch { return; } // the tool stays empty
  if (asked !== faceAsked || playing) return;
  const own = f.track_label === 'keyframe' && f.R && posesEqual(face.initial, { R: f.R, t: f.t }, 1e-6);
  tool.load(own ? face : { ...face, annotation: null }, { keepZoom: true });
  $('proposal-block').hidden = !(face.proposals || []).length;
  toolFace = f.face;
  tool.refresh();
}

function goToFrame(i) { pause(); show(i); }

function play() {
  if (playing || !frames().length) return;
  const start = position >= frames().length - 1 ? 0 : position;
  playing = { start, t0: performance.now(), raf: 0 };
  $('btn-play').textContent = 'Pause';
  const tick = (now) => {
    if (!playing) return;
    const { position: p, done } = playbackPosition(playing.start, now - playing.t0, state.sequence.fps, frames().length);
    if (p !== position) show(p);
    if (done) { pause(); return; }
    playing.raf = requestAnimationFrame(tick);
  };
  playing.raf = requestAnimationFrame(tick);
}

function pause() {
  const was = playing;
  if (playing) cancelAnimationFrame(playing.raf);
  playing = null;
  $('btn-play').textContent = 'Play';
  if (was) showFrameFace(); // the landmark tool takes the frame's face
}

function setSaveState(text, kind = '') { $('save-state').textContent = text; $('save-state').dataset.kind = kind; }
function showError(text) { $('error-banner').textContent = text; $('error-banner').hidden = false; }

async function reload() {
  state = await requestJSON(config.urls.state);
  drawTimeline();
  show(position);
}

async function saveKeyframe(remove) {
  pause();
  const f = current();
  let body;
  try { body = keyframeSave({ ...f, ...shownPose() }, { remove }); } catch (err) { showError(err.message); return; }
  // pins and pose never part: a keyframe whose pins disagree with it waits (the guard says why)
  if (!tool.checkSave(body.status)) { setSaveState('not saved: the pins do not match the pose', 'bad'); return; }
  body.landmark_pins = tool.pinsForSave();
  setSaveState('saving…', 'pending');
  try {
    await requestJSON(url(config.urls.save, f.face), { method: 'POST', body });
    await reload();
    setSaveState(remove ? `keyframe at frame ${f.frame_index} deleted` : `keyframe at frame ${f.frame_index} saved`, 'ok');
    $('error-banner').hidden = true;
  } catch (err) {
    setSaveState('not saved', 'bad');
    showError(err.message);
  }
}

function nextSpike() {
  const next = nextAfter(spikePositions(frames(), state.spikes), position);
  if (next !== null) goToFrame(next);
  return next;
}

// The keymap's timeline actions (static/js/keymap.js: their keys).
const actions = {
  back10: () => goToFrame(step(position, -10, frames().length)),
  previousFrame: () => goToFrame(step(position, -1, frames().length)),
  nextFrame: () => goToFrame(step(position, 1, frames().length)),
  forward10: () => goToFrame(step(position, 10, frames().length)),
  play: () => (playing ? pause() : play()),
  save: () => saveKeyframe(false),
  deleteKeyframe: () => saveKeyframe(true),
  nextSpike: () => nextSpike(),
};

function wire() {
  $('btn-back10').addEventListener('click', actions.back10);
  $('btn-back1').addEventListener('click', actions.previousFrame);
  $('btn-fwd1').addEventListener('click', actions.nextFrame);
  $('btn-fwd10').addEventListener('click', actions.forward10);
  $('btn-play').addEventListener('click', actions.play);
  $('btn-keyframe').addEventListener('click', () => saveKeyframe(false));
  $('btn-delete-keyframe').addEventListener('click', () => saveKeyframe(true));
  $('btn-next-spike').addEventListener('click', nextSpike);
  $('btn-undo').addEventListener('click', () => editor.undo());
  $('btn-redo').addEventListener('click', () => editor.redo());
  $('btn-reset').addEventListener('click', resetToLabel);
  editor.canvas.addEventListener('pointerdown', pause); // the drag edits the shown frame
  $('scrubber').addEventListener('input', (e) => goToFrame(parseInt(e.target.value, 10)));
  $('timeline').addEventListener('pointerdown', (e) => {
    const r = e.currentTarget.getBoundingClientRect();
    goToFrame(positionAtX(e.clientX - r.left, frames().length, r.width));
  });
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || typing(e.target) || document.querySelector('dialog[open]')) return;
    const hit = editor.keymap.resolve(e);
    if (!hit || !Object.hasOwn(actions, hit.action)) return;
    e.preventDefault();
    actions[hit.action]();
  });
}

const ready = (async () => {
  state = await requestJSON(config.urls.state);
  const { width, height, K } = state.image;
  const stage = $('stage');
  stage.style.setProperty('--w', width);
  stage.style.setProperty('--h', height);
  for (const el of [$('frame-image'), editor.canvas]) { el.width = width; el.height = height; }
  editor.mount({ width, height, K });
  // the landmark tool (its zoom: the wheel, a pinch, middle-drag, the zoom keys, over every layer)
  tool = attachLandmarkTool({ editor, state: { reference_face: state.reference_face, ...NO_FACE }, image: $('frame-image') });
  editor.bindViewOptions(OPACITY);
  editor.bindFields(); // the numeric pose fields (panel.js)
  editor.attachControls({ reset: resetToLabel }); // the drag and the pose keys (controls.js)
  await editor.loadHead();
  tool.afterHead();
  wire();
  drawTimeline();
  const fromHash = /frame=(\d+)/.exec(window.location.hash);
  const start = fromHash ? frames().findIndex((f) => f.frame_index === parseInt(fromHash[1], 10)) : 0;
  show(Math.max(start, 0));
  document.body.dataset.editorReady = '1';
})();
ready.catch((err) => showError(`the sequence could not be loaded: ${err.message}`));

// The editor's core (component.js) and the timeline's own.
window.headposeEditor = extend(editor.api, {
  ready,
  frame: () => position,
  goToFrame: (i) => goToFrame(i),
  get frameCount() { return state ? frames().length : 0; },
  label: () => (state ? { ...current() } : null),
  getPose: () => (state ? shownPose() : null),
  play, pause,
  get playing() { return playing !== null; },
  makeKeyframe: () => saveKeyframe(false),
  deleteKeyframe: () => saveKeyframe(true),
  nextSpike,
  drawTimes,
  // the landmark tool's (landmark_tool.js), on the shown frame's face
  landmarks: () => tool.api.landmarks(),
  pin: (index, x, y) => tool.api.pin(index, x, y),
  unpin: (index) => tool.api.unpin(index),
  pins: () => tool.api.pins(),
  solve: () => tool.api.solve(),
  snap: () => tool.api.snap(),
  showHandles: (on) => tool.api.showHandles(on),
  /** The shown frame's face is in the landmark tool (its state is asked for once playback stops). */
  faceLoaded: () => state !== null && current().face !== null && toolFace === current().face,
});
