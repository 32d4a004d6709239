// The landmark tool of the labeling page: the reference face's iBUG-68
// landmarks drawn where the pose puts them; drag one to where it belongs in the
// photo and it is pinned, and the pose is solved from the pins (pnp.js: 1-3 pins
// a damped update from the pose the drag started from, 4 or more a full solve).
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
import {
  MAGNIFIER_PX, TOOL_ACTIONS, checkInsideImage, dragTarget, handleRadius, magnifierPlace, magnifierSource, markUnit,
  pinMarkPath, pinReadout, proposalLabel, startDrag, zoomPercent,
} from './landmark_logic.js';
import { PinSet, cycleIndex, proposalChoices } from './pins.js';
import { projectPoints, reprojectionRmse, snapPose, solvePins } from './pnp.js';
import { attachStageZoom } from './stage_zoom.js';

const NS = 'http://www.w3.org/2000/svg';

/** A page without the tool's markup or state (another page reusing the editor) gets this. */
const NO_TOOL = { refresh() {}, load() {}, pinsForSave: () => [], api: {} };

export function attachLandmarkTool({ editor, state, doc = document }) {
  const $ = (id) => doc.getElementById(id);
  if (!$('pin-layer') || !state.reference_face) return NO_TOOL;
  const { K, width, height } = editor;
  const stage = $('stage');
  const tool = {
    doc, $, editor, K, width, height, stage,
    model: state.reference_face.landmarks_3d,
    own: state.face_landmarks_ibug68,
    proposals: state.proposals || [],
    pins: new PinSet((state.annotation && state.annotation.landmark_pins) || []),
    zoom: null, // view_zoom.js's ViewZoom, from attachZoom
    layer: $('pin-layer'),
    lastSolve: { mode: 'none', ms: 0 },
    proposalIndex: -1,
  };
  tool.handles = createHandles(tool);
  tool.refresh = () => refresh(tool);
  attachHandleDrag(tool);
  const zoom = attachZoom(tool);
  const proposals = attachProposals(tool);
  const handles = bindHandlesOption(tool);
  const snap = () => snapToOwn(tool);
  const unpinAll = () => { tool.pins.clear(); tool.refresh(); };

  $('btn-snap').disabled = !tool.own;
  $('btn-snap').addEventListener('click', snap);
  $('btn-unpin-all').addEventListener('click', unpinAll);
  bindKeys(tool, {
    snap, unpinAll, handles: handles.toggle,
    nextProposal: () => proposals.choose(1), previousProposal: () => proposals.choose(-1),
  });
  zoom.apply();

  return {
    refresh: tool.refresh,
    /** Another face is shown in place (main.js; the editor shows its image already). */
    load(next) { loadFace(tool, next); handles.show(tool.pins.size > 0); zoom.actions.zoomFit(); },
    pinsForSave: () => tool.pins.list(),
    // window.headposeEditor's landmark API (image pixels, iBUG-68 order)
    api: {
      landmarks: () => landmarks(tool),
      pins: () => tool.pins.list(),
      showHandles: handles.show,
      pin(index, x, y) {
        checkInsideImage(x, y, tool.width, tool.height);
        const from = editor.getPose();
        tool.pins.set(index, x, y);
        const out = solveFrom(tool, from);
        editor.commit();
        return out;
      },
      unpin(index) { const had = tool.pins.delete(index); tool.refresh(); return had; },
      solve() { const out = solveFrom(tool, editor.getPose()); editor.commit(); return out; },
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
    proposals: state.proposals || [], lastSolve: { mode: 'none', ms: 0 }, proposalIndex: -1,
  });
  pins.clear();
  for (const p of (state.annotation && state.annotation.landmark_pins) || []) pins.set(p.index, p.x, p.y);
  layer.setAttribute('viewBox', imageViewBox(tool.width, tool.height));
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

/** Redraw what depends on the pose and the pins: handles, readouts, the proposals' distances. */
function refresh(tool) {
  const { $, K, model, pins, editor } = tool;
  const pose = editor.getPose();
  drawHandles(tool, projectPoints(K, model, pose));
  const readout = pinReadout(pins.size, reprojectionRmse(K, model, pins.list(), pose), tool.lastSolve.mode);
  $('pin-rmse').textContent = readout.rmse;
  $('pin-count').textContent = readout.count;
  $('btn-unpin-all').disabled = pins.size === 0;
  showProposals(tool, pose);
}

/** Solve from the pins starting at (and for 1-3 pins, held toward) `from`. */
function solveFrom(tool, from) {
  const t0 = performance.now();
  const out = solvePins(tool.K, tool.model, tool.pins.list(), from);
  tool.lastSolve = { mode: out.mode, ms: performance.now() - t0 };
  tool.editor.preview({ R: out.R, t: out.t });
  return { mode: out.mode, rmse: out.rmse, ms: tool.lastSolve.ms };
}

function snapToOwn(tool) {
  if (!tool.own) return null;
  const out = snapPose(tool.K, tool.model, tool.own, tool.editor.getPose());
  tool.editor.set({ R: out.R, t: out.t });
  return out;
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
    drag = { ...startDrag(landmarks(tool), at), anchor: editor.getPose(), moved: false };
  });
  layer.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const { width, height } = tool;
    const p = dragTarget(eventToPixel(e, layer, width, height), drag.offset, width, height);
    pins.set(drag.index, p[0], p[1]);
    drag.moved = true;
    solveFrom(tool, drag.anchor);
    showMagnifier(tool, magnifier, e, p);
  });
  const endDrag = (e) => {
    if (!drag) return;
    if (e.target.hasPointerCapture && e.target.hasPointerCapture(e.pointerId)) e.target.releasePointerCapture(e.pointerId);
    if (drag.moved) editor.commit();
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
    stage, elements: [$('face-image'), $('pose-canvas'), $('overlay'), tool.layer], imageWidth: width,
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

/** The starting pose among the proposals: the list's clicks, and choose(step) for P / Shift+P. */
function attachProposals(tool) {
  const { editor } = tool; // tool.proposals: the shown face's
  const use = (i) => { tool.proposalIndex = i; editor.set({ R: tool.proposals[i].R, t: tool.proposals[i].t }); };
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
