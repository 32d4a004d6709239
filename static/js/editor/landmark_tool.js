// The landmark tool of the labeling page: the reference face's iBUG-68
// landmarks drawn where the pose puts them; drag one to where it belongs in the
// photo and it is pinned, and the pose is solved from the pins (pnp.js: only what
// they determine: 1 pin x/y, 2-3 (or on one line) rotation and x/y with the depth
// held, 4 or more a full solve; the panel says which, and the RMSE before → after).
// The guard (pin_guard.js): a solve, Snap or proposal switch that raises the pins'
// error or takes the head far from every proposal warns, with an Undo (pose and
// pins as they were); a proposal switch re-solves with the pins (or Clear pins);
// a save sends only pins that match its pose (a correction with pins that do not
// is refused until re-solved or unpinned). The feature lines (feature_lines.js,
// Y) and the proposals' outlines (the review's ghosts, G) show the fit.
// Also: snap to the face's own landmarks (Huber), zoom/pan with a magnifier
// while dragging, the pins' live reprojection RMSE, and switching the starting
// pose among the proposals from the keyboard. main.js hands in the editor and
// calls refresh() whenever the shown pose changes.
//
// The decisions (sizes, which handle, where a pin goes, readouts, keys) are in
// landmark_logic.js; here each part of the page is one function over `tool`,
// the state they share: {doc, $, editor, K, width, height, model, own,
// proposals, pins, zoom, layer, stage, lastSolve, proposalIndex}.
import { eventToPixel, imageViewBox } from './camera.js';
import { typing } from './controls.js';
import { FEATURE_GROUPS, featurePaths } from './feature_lines.js';
import { GhostHeads } from '../review/ghost_heads.js';
import { GHOST_COLORS } from '../review/ghosts.js';
import {
  MAGNIFIER_PX, TOOL_ACTIONS, checkInsideImage, dragTarget, handleRadius, magnifierPlace, magnifierSource, markUnit,
  pinMarkPath, pinReadout, proposalLabel, startDrag, zoomPercent,
} from './landmark_logic.js';
import { PinSet, cycleIndex, proposalChoices } from './pins.js';
import { toggleOption } from './panel.js';
import { judge, pinsAgree, rmseChange, savePlan, serverLimitPx } from './pin_guard.js';
import { projectPoints, reprojectionRmse, snapPose, solvePins } from './pnp.js';
import { posesEqual } from './pose.js';
import { attachStageZoom } from './stage_zoom.js';

const NS = 'http://www.w3.org/2000/svg';

/** A page without the tool's markup or state (another page reusing the editor) gets this. */
const NO_TOOL = { refresh() {}, load() {}, afterHead() {}, pinsForSave: () => [], checkSave: () => true, api: {} };

export function attachLandmarkTool({ editor, state, doc = document, image = doc.getElementById('face-image') }) {
  const $ = (id) => doc.getElementById(id);
  if (!$('pin-layer') || !state.reference_face) return NO_TOOL;
  const { K, width, height } = editor;
  const stage = $('stage');
  const tool = {
    doc, $, editor, K, width, height, stage, image, // image: the photo (the timeline's frame)
    model: state.reference_face.landmarks_3d,
    own: state.face_landmarks_ibug68,
    proposals: state.proposals || [],
    pins: new PinSet((state.annotation && state.annotation.landmark_pins) || []),
    zoom: null, // view_zoom.js's ViewZoom, from attachZoom
    layer: $('pin-layer'),
    lastSolve: { mode: 'none', ms: 0, before: null, pose: null },
    proposalIndex: -1,
    features: $('feature-layer'),
    outline: null, // GhostHeads of the proposals while #opt-outline is on
  };
  tool.handles = createHandles(tool);
  tool.featurePaths = createFeatures(tool);
  tool.guard = attachGuard(tool);
  tool.refresh = () => refresh(tool);
  attachHandleDrag(tool);
  const zoom = attachZoom(tool);
  const proposals = attachProposals(tool);
  const handles = bindHandlesOption(tool);
  const snap = () => guarded(tool, 'snap', () => snapToOwn(tool));
  const unpinAll = () => { tool.pins.clear(); tool.guard.hide(); tool.refresh(); };
  const outline = bindOption(tool, 'outline', () => showOutline(tool));
  bindOption(tool, 'features', () => tool.refresh());

  $('btn-snap').disabled = !tool.own;
  $('btn-snap').addEventListener('click', snap);
  $('btn-unpin-all').addEventListener('click', unpinAll);
  bindKeys(tool, {
    snap, unpinAll, handles: handles.toggle,
    nextProposal: () => proposals.choose(1), previousProposal: () => proposals.choose(-1),
    features: () => toggleOption(doc, 'features'), ghosts: () => toggleOption(doc, 'outline'),
  });
  zoom.apply();

  return {
    refresh: tool.refresh,
    /** Another face is shown in place (main.js; the editor shows its image already); keepZoom: the
     * view stays as it is (the timeline's frames, one image size). */
    load(next, { keepZoom = false } = {}) {
      loadFace(tool, next);
      handles.show(tool.pins.size > 0);
      if (!keepZoom) zoom.actions.zoomFit();
      outline();
    },
    /** The zoom's keymap actions (the timeline wires its own keys to them). */
    zoomActions: zoom.actions,
    /** The head has loaded (the outlines need its mesh). */
    afterHead: outline,
    /** The pins saved with the shown pose: none when they do not match it (pin_guard.pinsAgree). */
    pinsForSave: () => (pinsMatch(tool).agree ? tool.pins.list() : []),
    /** Whether a save with `status` may go: a correction whose pins disagree with the pose is refused, with why. */
    checkSave: (status) => checkSave(tool, status),
    // window.headposeEditor's landmark API (image pixels, iBUG-68 order)
    api: {
      landmarks: () => landmarks(tool),
      pins: () => tool.pins.list(),
      showHandles: handles.show,
      pin(index, x, y) {
        checkInsideImage(x, y, tool.width, tool.height);
        return guarded(tool, 'solve', (before) => {
          tool.pins.set(index, x, y);
          const out = solveFrom(tool, before.pose, before.rmse);
          editor.commit();
          return out;
        });
      },
      unpin(index) { const had = tool.pins.delete(index); tool.refresh(); return had; },
      solve: () => resolve(tool),
      /** The guard's message ('' when hidden) and its kind ('warn', 'info', 'refuse'). */
      guard: () => tool.guard.state(),
      snap,
      chooseProposal: proposals.choose,
      zoom: {
        get scale() { return tool.zoom.scale; },
        get oneToOneScale() { return tool.zoom.oneToOneScale; },
        set(scale, u, v) { tool.zoom.zoomTo(scale); if (u !== undefined) tool.zoom.centreOn(u, v); zoom.apply(); },
        fit: zoom.actions.zoomFit,
      },
    },
  };
}

/** The face-specific part of `tool` for the editor state `state` (the model, handles and listeners stay). */
function loadFace(tool, state) {
  const { editor, layer, pins } = tool;
  Object.assign(tool, {
    K: editor.K, width: editor.width, height: editor.height, own: state.face_landmarks_ibug68,
    proposals: state.proposals || [], lastSolve: { mode: 'none', ms: 0, before: null, pose: null }, proposalIndex: -1,
  });
  tool.guard.hide();
  pins.clear();
  for (const p of (state.annotation && state.annotation.landmark_pins) || []) pins.set(p.index, p.x, p.y);
  layer.setAttribute('viewBox', imageViewBox(tool.width, tool.height));
  tool.features?.setAttribute('viewBox', imageViewBox(tool.width, tool.height));
  tool.$('btn-snap').disabled = !tool.own;
  tool.zoom.resize(tool.stage.clientWidth, tool.stage.clientHeight, tool.width);
}

// --- handles -------------------------------------------------------------------

/** One circle per landmark in #pin-layer (user units: image pixels), after the pins' marks group. */
function createHandles({ doc, layer, model, width, height }) {
  layer.setAttribute('viewBox', imageViewBox(width, height));
  layer.setAttribute('preserveAspectRatio', 'none');
  const marks = doc.createElementNS(NS, 'g');
  const circles = model.map((_, index) => {
    const c = doc.createElementNS(NS, 'circle');
    c.setAttribute('class', 'handle');
    c.dataset.index = String(index);
    return c;
  });
  layer.replaceChildren(marks, ...circles);
  return { marks, circles };
}

function drawHandles({ doc, handles, pins, zoom, width, height }, points) {
  const unit = markUnit(width, height, zoom.scale);
  handles.circles.forEach((c, i) => {
    c.setAttribute('cx', points[i][0]); c.setAttribute('cy', points[i][1]);
    c.setAttribute('r', handleRadius(unit, pins.has(i)));
    c.classList.toggle('pinned', pins.has(i));
  });
  // a pin's own mark: a small cross where it was placed (the handle shows where the pose puts the landmark)
  handles.marks.replaceChildren(...pins.list().map((p) => {
    const path = doc.createElementNS(NS, 'path');
    path.setAttribute('d', pinMarkPath(p, unit));
    path.setAttribute('class', 'pin-mark');
    return path;
  }));
}

function landmarks({ K, model, editor }) { return projectPoints(K, model, editor.getPose()); }

/** Redraw what depends on the pose and the pins: handles, feature lines, readouts, the proposals' distances. */
function refresh(tool) {
  const { $, K, model, pins, editor, lastSolve } = tool;
  const pose = editor.getPose();
  if (!pose) return;
  drawHandles(tool, projectPoints(K, model, pose));
  drawFeatures(tool, pose);
  const rmse = reprojectionRmse(K, model, pins.list(), pose);
  const readout = pinReadout(pins.size, rmse, lastSolve.mode);
  // right after a solve: the RMSE before → after it
  const solvedHere = lastSolve.pose && posesEqual(lastSolve.pose, pose, 0);
  $('pin-rmse').textContent = solvedHere ? rmseChange(lastSolve.before, rmse, pins.size) : readout.rmse;
  $('pin-count').textContent = readout.count;
  $('btn-unpin-all').disabled = pins.size === 0;
  showProposals(tool, pose);
}

/** Solve from the pins starting at (and for a partial solve, held toward) `from`; `before`:
 * the pins' RMSE the readout showed before (default: these pins' at `from`). */
function solveFrom(tool, from, before) {
  const t0 = performance.now();
  const out = solvePins(tool.K, tool.model, tool.pins.list(), from);
  const pose = { R: out.R, t: out.t };
  tool.lastSolve = { mode: out.mode, ms: performance.now() - t0, before: before === undefined ? out.before : before, pose };
  tool.editor.preview(pose);
  return { mode: out.mode, rmse: out.rmse, before: tool.lastSolve.before, ms: tool.lastSolve.ms };
}

/** Solve again with the pins from the shown pose (the API's solve(), the guard's Re-solve). */
function resolve(tool) {
  return guarded(tool, 'solve', (before) => {
    const out = solveFrom(tool, before.pose, before.rmse);
    tool.editor.commit();
    return out;
  });
}

function snapToOwn(tool) {
  if (!tool.own) return null;
  const out = snapPose(tool.K, tool.model, tool.own, tool.editor.getPose());
  tool.editor.set({ R: out.R, t: out.t });
  return out;
}

// --- the guard (pin_guard.js) ----------------------------------------------------

/** The pins and the pose as they are (rmse null: no pins). */
function snapshot({ K, model, pins, editor }) {
  const pose = editor.getPose();
  return { pins: pins.list(), pose, rmse: pins.size ? reprojectionRmse(K, model, pins.list(), pose) : null };
}

/** Run `change(before)` (it moves the pose and makes it an undo step), then judge it: a warning
 * with an Undo at hand when it raised the pins' error or went far from every proposal. */
function guarded(tool, action, change, before = snapshot(tool)) {
  const out = change(before);
  const pose = tool.editor.getPose();
  const after = { rmse: reprojectionRmse(tool.K, tool.model, tool.pins.list(), pose), pose };
  const verdict = judge({ action, before, after, proposals: tool.proposals });
  if (verdict.warn) tool.guard.show('warn', verdict.text, { undo: { before, after: pose } });
  else tool.guard.hide();
  tool.lastVerdict = verdict;
  tool.refresh();
  return out;
}

/** Whether the pins match the shown pose: their RMSE there against what a solve from there gives. */
function pinsMatch({ K, model, pins, editor }) {
  const pose = editor.getPose();
  if (!pins.size || !pose) return { agree: true, here: 0, solved: 0, limit: Infinity };
  const here = reprojectionRmse(K, model, pins.list(), pose);
  const solved = solvePins(K, model, pins.list(), pose).rmse;
  const limit = serverLimitPx(K, pose.t); // the server refuses pins farther than this from the saved pose
  return { agree: pinsAgree(pins.size, here, solved) && here <= limit, here, solved, limit };
}

function checkSave(tool, status) {
  const match = pinsMatch(tool);
  if (savePlan(status, match.agree) !== 'refuse') return true;
  const text = match.here > match.limit
    ? `Not saved: the pins are ${match.here.toFixed(1)} px from where the pose puts them, over the limit of `
      + `${match.limit.toFixed(1)} px (a pin may be misplaced). Move or unpin it, or clear the pins, then save.`
    : `Not saved: the pins no longer match the pose (${match.here.toFixed(1)} px here; `
      + `a solve with them gives ${match.solved.toFixed(1)} px). Re-solve with the pins, or clear them, then save.`;
  tool.guard.show('refuse', text, { solve: true, clear: true });
  return false;
}

/** #pin-guard: the message, with Undo (pose and pins as they were), Re-solve and Clear pins as they apply. */
function attachGuard(tool) {
  const { $, editor } = tool;
  const box = $('pin-guard');
  let undoTo = null, clearTo = null;
  const hide = () => { if (box) { box.hidden = true; box.dataset.kind = ''; } undoTo = null; clearTo = null; };
  const buttons = { undo: $('pin-guard-undo'), solve: $('pin-guard-solve'), clear: $('pin-guard-clear') };
  buttons.undo?.addEventListener('click', () => {
    if (!undoTo) return;
    const { before, after } = undoTo;
    tool.pins.clear();
    for (const p of before.pins) tool.pins.set(p.index, p.x, p.y);
    // the change was one undo step: step back over it (else set the pose of before as a new step)
    if (posesEqual(editor.getPose(), after, 0) && editor.history.canUndo) editor.undo();
    else editor.set(before.pose);
    tool.lastSolve = { ...tool.lastSolve, pose: null };
    hide();
    tool.refresh();
  });
  buttons.solve?.addEventListener('click', () => resolve(tool));
  buttons.clear?.addEventListener('click', () => {
    if (typeof clearTo === 'function') clearTo(); else tool.pins.clear();
    hide();
    tool.refresh();
  });
  return {
    show(kind, text, { undo = null, solve = false, clear = false } = {}) {
      if (!box) return;
      undoTo = undo;
      clearTo = clear;
      $('pin-guard-text').textContent = text;
      buttons.undo.hidden = !undo;
      buttons.solve.hidden = !solve;
      buttons.clear.hidden = !clear;
      box.dataset.kind = kind;
      box.hidden = false;
    },
    hide,
    state: () => (box && !box.hidden ? { kind: box.dataset.kind, text: $('pin-guard-text').textContent } : { kind: '', text: '' }),
  };
}

// --- the feature lines and the proposals' outlines ----------------------------------

/** One path per feature group (feature_lines.js) in #feature-layer (user units: image pixels). */
function createFeatures({ doc, features, width, height }) {
  if (!features) return [];
  features.setAttribute('viewBox', imageViewBox(width, height));
  features.setAttribute('preserveAspectRatio', 'none');
  const paths = FEATURE_GROUPS.map(([name]) => {
    const path = doc.createElementNS(NS, 'path');
    path.setAttribute('class', `feature ${name}`);
    return path;
  });
  features.replaceChildren(...paths);
  return paths;
}

function drawFeatures({ $, features, featurePaths: paths, K, model }, pose) {
  if (!features || !$('opt-features')?.checked) return;
  featurePaths(K, model, pose).forEach(({ d }, i) => paths[i].setAttribute('d', d));
}

/** The proposals' outlines (the review's ghost heads) while #opt-outline is on; built again for each face. */
function showOutline(tool) {
  const { editor, $ } = tool;
  if (tool.outline) { tool.outline.dispose(); tool.outline = null; }
  if (!$('opt-outline')?.checked || !editor.view || !editor.view.mesh) return;
  const poses = tool.proposals.map((p, i) => ({ key: String(i), R: p.R, t: p.t }));
  const colors = Object.fromEntries(poses.map((p) => [p.key, GHOST_COLORS.proposal]));
  tool.outline = new GhostHeads(editor.view, poses, colors);
  tool.outline.show(new Set(poses.map((p) => p.key)));
}

/** A view option of the tool (#opt-NAME): `sync` when it changes; the layer of the same name follows it. */
function bindOption(tool, name, sync) {
  const box = tool.$(`opt-${name}`);
  const layer = tool.$(`${name === 'features' ? 'feature' : name}-layer`);
  const apply = () => { if (layer) layer.style.display = box && box.checked ? '' : 'none'; sync(); };
  box?.addEventListener('change', apply);
  apply();
  return apply;
}

// --- dragging a handle ---------------------------------------------------------

function attachHandleDrag(tool) {
  const { layer, editor, pins } = tool;
  const magnifier = tool.$('magnifier');
  let drag = null;
  layer.addEventListener('pointerdown', (e) => {
    const index = e.target.dataset && e.target.dataset.index;
    if (index === undefined || e.button !== 0) return;
    e.preventDefault();
    e.stopPropagation();
    e.target.setPointerCapture(e.pointerId); // moves keep coming to the handle, and bubble here
    const at = eventToPixel(e, layer, tool.width, tool.height);
    const before = snapshot(tool);
    drag = { ...startDrag(landmarks(tool), at), anchor: before.pose, before, moved: false };
  });
  layer.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const { width, height } = tool;
    const p = dragTarget(eventToPixel(e, layer, width, height), drag.offset, width, height);
    pins.set(drag.index, p[0], p[1]);
    drag.moved = true;
    solveFrom(tool, drag.anchor, drag.before.rmse);
    showMagnifier(tool, magnifier, e, p);
  });
  const endDrag = (e) => {
    if (!drag) return;
    if (e.target.hasPointerCapture && e.target.hasPointerCapture(e.pointerId)) e.target.releasePointerCapture(e.pointerId);
    // the drag's solves are one undo step, judged once
    if (drag.moved) guarded(tool, 'solve', () => editor.commit(), drag.before);
    drag = null;
    magnifier.hidden = true;
  };
  layer.addEventListener('pointerup', endDrag);
  layer.addEventListener('pointercancel', endDrag);
  const unpinAt = (e) => {
    const index = e.target.dataset && e.target.dataset.index;
    if (index === undefined) return;
    e.preventDefault();
    if (pins.delete(Number(index))) tool.refresh();
  };
  layer.addEventListener('dblclick', unpinAt);
  layer.addEventListener('contextmenu', unpinAt);
}

/** The photo around the dragged pin, enlarged, beside the pointer. */
function showMagnifier({ stage, layer, width, $ }, magnifier, e, [u, v]) {
  const box = stage.getBoundingClientRect();
  const ctx = magnifier.getContext('2d');
  const src = magnifierSource(u, v, layer.getBoundingClientRect().width / width);
  const n = MAGNIFIER_PX;
  magnifier.width = magnifier.height = n;
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = '#0b0f14';
  ctx.fillRect(0, 0, n, n);
  ctx.drawImage($('face-image'), src.x, src.y, src.span, src.span, 0, 0, n, n);
  ctx.strokeStyle = '#f0abfc';
  ctx.beginPath();
  ctx.moveTo(n / 2, 0); ctx.lineTo(n / 2, n);
  ctx.moveTo(0, n / 2); ctx.lineTo(n, n / 2);
  ctx.stroke();
  const { left, top } = magnifierPlace(e.clientX - box.left, e.clientY - box.top);
  magnifier.style.left = `${left}px`;
  magnifier.style.top = `${top}px`;
  magnifier.hidden = false;
}

// --- zoom and pan --------------------------------------------------------------

/** The stage's zoom (stage_zoom.js: the wheel or a pinch at the pointer, middle-drag, the zoom keys), the
 * zoom readout and buttons; the handles keep their size on screen. Returns {apply, actions}. */
function attachZoom(tool) {
  const { $, stage, width } = tool;
  const { zoom, apply, actions } = attachStageZoom({
    stage, elements: [tool.image, $('pose-canvas'), $('overlay'), tool.features, tool.layer].filter(Boolean), imageWidth: width,
    keymap: tool.editor.keymap, doc: tool.doc,
    onChange() { $('zoom-level').textContent = zoomPercent(zoom.scale, zoom.oneToOneScale); tool.refresh(); },
  });
  tool.zoom = zoom;
  $('btn-zoom-in').addEventListener('click', actions.zoomIn);
  $('btn-zoom-out').addEventListener('click', actions.zoomOut);
  $('btn-zoom-1').addEventListener('click', actions.zoomOneToOne);
  $('btn-zoom-fit').addEventListener('click', actions.zoomFit);
  return { apply, actions };
}

// --- proposals, handles option, keys -------------------------------------------

function showProposals(tool, pose) {
  const list = tool.$('proposal-list');
  if (!list) return;
  list.replaceChildren(...proposalChoices(tool.proposals, pose).map((p, i) => {
    const li = tool.doc.createElement('li');
    li.textContent = proposalLabel(p);
    li.classList.toggle('active', i === tool.proposalIndex);
    li.dataset.index = String(i);
    return li;
  }));
}

/** The starting pose among the proposals: the list's clicks, and choose(step) for P / Shift+P.
 * With pins, the pose is solved with them from the proposal (one undo step), and the guard
 * says so with Undo and Clear pins (the proposal as it is): pins and pose never part. */
function attachProposals(tool) {
  const { editor } = tool; // tool.proposals: the shown face's
  const use = (i) => {
    tool.proposalIndex = i;
    const p = tool.proposals[i];
    const start = { R: p.R, t: p.t };
    if (!tool.pins.size) { editor.set(start); return; }
    const before = snapshot(tool);
    guarded(tool, 'proposal', () => { solveFrom(tool, start, before.rmse); editor.commit(); }, before);
    if (tool.lastVerdict.warn) return;
    tool.guard.show('info', `Started from ${p.proposer} and re-solved with the ${tool.pins.size} pins.`, {
      undo: { before, after: editor.getPose() },
      clear: () => { tool.pins.clear(); editor.set(start); }, // the proposal as it is, no pins
    });
  };
  tool.$('proposal-list')?.addEventListener('click', (e) => {
    const i = e.target.dataset && e.target.dataset.index;
    if (i !== undefined) use(Number(i));
  });
  return {
    choose(step) {
      const i = cycleIndex(tool.proposalIndex, tool.proposals.length, step);
      tool.proposalIndex = i;
      if (i < 0) return null;
      use(i);
      return tool.proposals[i];
    },
  };
}

/** #opt-handles shows the handles. Off by default: with the handles over the
 * face, a drag that meant to turn the head would grab a landmark. On when the
 * stored label has pins. */
function bindHandlesOption({ $, layer, pins }) {
  const box = $('opt-handles');
  const sync = () => { layer.style.display = box.checked ? '' : 'none'; };
  box.checked = pins.size > 0;
  box.addEventListener('change', sync);
  sync();
  return {
    show(on) { box.checked = Boolean(on); sync(); },
    toggle() { box.checked = !box.checked; sync(); },
  };
}

/** The tool's keys (landmark_logic.TOOL_ACTIONS, keys from the page's keymap): those the editor's
 * controls leave free (controls.js marks what it handled). */
function bindKeys({ doc, editor }, actions) {
  doc.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || typing(e.target) || doc.querySelector('dialog[open]')) return;
    const hit = editor.keymap.resolve(e);
    if (!hit || !TOOL_ACTIONS.includes(hit.action)) return;
    e.preventDefault();
    actions[hit.action]();
  });
}
