// The landmark tool of the labeling page: the reference face's iBUG-68
// landmarks drawn where the pose puts them; drag one to where it belongs in the
// photo and it is pinned, and the pose is solved from the pins (pnp.js: 1-3 pins
// a damped update from the pose the drag started from, 4 or more a full solve).
// Also: snap to the face's own landmarks (Huber), zoom/pan with a magnifier
// while dragging, the pins' live reprojection RMSE, and switching the starting
// pose among the proposals from the keyboard. main.js hands in the editor and
// calls refresh() whenever the shown pose changes.
import { eventToPixel, imageViewBox } from './camera.js';
import { typing } from './controls.js';
import { PinSet, clampToImage, cycleIndex, proposalChoices } from './pins.js';
import { projectPoints, reprojectionRmse, snapPose, solvePins } from './pnp.js';
import { ViewZoom } from './view_zoom.js';

const NS = 'http://www.w3.org/2000/svg';
const MAGNIFIER_PX = 160; // the magnifier's size on screen, CSS px
const MAGNIFIER_ZOOM = 4; // screen pixels per displayed pixel inside it

/** A page without the tool's markup or state (another page reusing the editor) gets this. */
const NO_TOOL = { refresh() {}, pinsForSave: () => [], api: {} };

export function attachLandmarkTool({ editor, state, doc = document }) {
  const $ = (id) => doc.getElementById(id);
  if (!$('pin-layer') || !state.reference_face) return NO_TOOL;
  const { K, width, height } = editor;
  const model = state.reference_face.landmarks_3d;
  const own = state.face_landmarks_ibug68;
  const proposals = state.proposals || [];
  const pins = new PinSet((state.annotation && state.annotation.landmark_pins) || []);
  const stage = $('stage');
  const layer = $('pin-layer');
  const image = $('face-image');
  const magnifier = $('magnifier');
  const zoom = new ViewZoom(stage.clientWidth || width, stage.clientHeight || height, width);
  let proposalIndex = -1;
  let lastSolve = { mode: 'none', ms: 0 };

  // --- handles ---------------------------------------------------------------
  layer.setAttribute('viewBox', imageViewBox(width, height));
  layer.setAttribute('preserveAspectRatio', 'none');
  const marks = doc.createElementNS(NS, 'g');
  const handles = model.map((_, index) => {
    const c = doc.createElementNS(NS, 'circle');
    c.setAttribute('class', 'handle');
    c.dataset.index = String(index);
    return c;
  });
  layer.replaceChildren(marks, ...handles);

  function drawHandles(points) {
    const unit = Math.max(width, height) / 400 / Math.sqrt(zoom.scale);
    handles.forEach((c, i) => {
      c.setAttribute('cx', points[i][0]); c.setAttribute('cy', points[i][1]);
      c.setAttribute('r', (pins.has(i) ? 2.2 : 1.8) * unit);
      c.classList.toggle('pinned', pins.has(i));
    });
    // a pin's own mark: a small cross where it was placed (the handle shows where the pose puts the landmark)
    marks.replaceChildren(...pins.list().map((p) => {
      const path = doc.createElementNS(NS, 'path');
      const s = 2.5 * unit;
      path.setAttribute('d', `M${p.x - s} ${p.y}H${p.x + s}M${p.x} ${p.y - s}V${p.y + s}`);
      path.setAttribute('class', 'pin-mark');
      return path;
    }));
  }

  function landmarks() { return projectPoints(K, model, editor.getPose()); }

  function refresh() {
    const pose = editor.getPose();
    drawHandles(projectPoints(K, model, pose));
    const rmse = reprojectionRmse(K, model, pins.list(), pose);
    $('pin-rmse').textContent = pins.size ? `${rmse.toFixed(2)} px` : '–';
    $('pin-count').textContent = `${pins.size} pinned${pins.size ? ` · ${lastSolve.mode} solve` : ''}`;
    $('btn-unpin-all').disabled = pins.size === 0;
    showProposals(pose);
  }

  /** Solve from the pins starting at (and for 1-3 pins, held toward) `from`. */
  function solveFrom(from) {
    const t0 = performance.now();
    const out = solvePins(K, model, pins.list(), from);
    lastSolve = { mode: out.mode, ms: performance.now() - t0 };
    editor.preview({ R: out.R, t: out.t });
    return { mode: out.mode, rmse: out.rmse, ms: lastSolve.ms };
  }

  // --- dragging a handle --------------------------------------------------------
  let drag = null;
  layer.addEventListener('pointerdown', (e) => {
    const index = e.target.dataset && e.target.dataset.index;
    if (index === undefined || e.button !== 0) return;
    e.preventDefault();
    e.stopPropagation();
    e.target.setPointerCapture(e.pointerId); // moves keep coming to the handle, and bubble here
    const at = eventToPixel(e, layer, width, height);
    const all = landmarks();
    // handles overlap (inner and outer mouth corners): take the one nearest the pointer
    const d2 = all.map(([u, v]) => (u - at[0]) ** 2 + (v - at[1]) ** 2);
    const i = d2.indexOf(Math.min(...d2));
    const shown = all[i];
    // grab offset: the landmark keeps its place under the pointer
    drag = { index: i, anchor: editor.getPose(), offset: [shown[0] - at[0], shown[1] - at[1]], moved: false };
  });
  layer.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const at = eventToPixel(e, layer, width, height);
    const p = clampToImage([at[0] + drag.offset[0], at[1] + drag.offset[1]], width, height);
    pins.set(drag.index, p[0], p[1]);
    drag.moved = true;
    solveFrom(drag.anchor);
    showMagnifier(e, p);
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
    if (pins.delete(Number(index))) refresh();
  };
  layer.addEventListener('dblclick', unpinAt);
  layer.addEventListener('contextmenu', unpinAt);

  // --- magnifier ----------------------------------------------------------------
  function showMagnifier(e, [u, v]) {
    const box = stage.getBoundingClientRect();
    const ctx = magnifier.getContext('2d');
    const shownPerImagePx = layer.getBoundingClientRect().width / width;
    const span = MAGNIFIER_PX / (MAGNIFIER_ZOOM * shownPerImagePx); // image pixels across
    magnifier.width = magnifier.height = MAGNIFIER_PX;
    ctx.imageSmoothingEnabled = false;
    ctx.fillStyle = '#0b0f14';
    ctx.fillRect(0, 0, MAGNIFIER_PX, MAGNIFIER_PX);
    // image pixel u covers [u - 0.5, u + 0.5] (OpenCV) = source x [u, u + 1]
    ctx.drawImage(image, u + 0.5 - span / 2, v + 0.5 - span / 2, span, span, 0, 0, MAGNIFIER_PX, MAGNIFIER_PX);
    ctx.strokeStyle = '#f0abfc';
    ctx.beginPath();
    ctx.moveTo(MAGNIFIER_PX / 2, 0); ctx.lineTo(MAGNIFIER_PX / 2, MAGNIFIER_PX);
    ctx.moveTo(0, MAGNIFIER_PX / 2); ctx.lineTo(MAGNIFIER_PX, MAGNIFIER_PX / 2);
    ctx.stroke();
    // above-left of the pointer, flipped to stay inside the stage
    let left = e.clientX - box.left - MAGNIFIER_PX - 24, top = e.clientY - box.top - MAGNIFIER_PX - 24;
    if (left < 0) left = e.clientX - box.left + 24;
    if (top < 0) top = e.clientY - box.top + 24;
    magnifier.style.left = `${left}px`;
    magnifier.style.top = `${top}px`;
    magnifier.hidden = false;
  }

  // --- zoom and pan -----------------------------------------------------------------
  const zoomed = [image, $('pose-canvas'), $('overlay'), layer];
  let pointerAt = null; // the last pointer position over the stage, stage CSS px
  function applyZoom() {
    for (const el of zoomed) { el.style.transformOrigin = '0 0'; el.style.transform = zoom.css; }
    $('zoom-level').textContent = `${Math.round(zoom.scale * 100 / zoom.oneToOneScale)}%`;
    refresh();
  }
  function stagePoint(e) { const r = stage.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; }
  stage.addEventListener('pointermove', (e) => { pointerAt = stagePoint(e); }, { capture: true, passive: true });
  // Ctrl/Alt + wheel zooms (captured before the canvas, where the wheel moves the head in depth)
  stage.addEventListener('wheel', (e) => {
    if (!(e.ctrlKey || e.altKey || e.metaKey)) return;
    e.preventDefault();
    e.stopPropagation();
    zoom.zoomAt(Math.exp(-Math.max(-200, Math.min(200, e.deltaY)) * 0.002), ...stagePoint(e));
    applyZoom();
  }, { capture: true, passive: false });
  // middle-button drag pans
  let pan = null;
  stage.addEventListener('pointerdown', (e) => {
    if (e.button !== 1) return;
    e.preventDefault();
    e.stopPropagation();
    stage.setPointerCapture(e.pointerId);
    pan = stagePoint(e);
  }, { capture: true });
  stage.addEventListener('pointermove', (e) => {
    if (!pan) return;
    const p = stagePoint(e);
    zoom.panBy(p[0] - pan[0], p[1] - pan[1]);
    pan = p;
    applyZoom();
  });
  stage.addEventListener('pointerup', (e) => {
    if (!pan) return;
    pan = null;
    if (stage.hasPointerCapture(e.pointerId)) stage.releasePointerCapture(e.pointerId);
  });
  new ResizeObserver(() => { zoom.resize(stage.clientWidth, stage.clientHeight, width); applyZoom(); }).observe(stage);

  const zoomActions = {
    in() { zoom.zoomAt(1.25, ...(pointerAt || [zoom.stageWidth / 2, zoom.stageHeight / 2])); applyZoom(); },
    out() { zoom.zoomAt(0.8, ...(pointerAt || [zoom.stageWidth / 2, zoom.stageHeight / 2])); applyZoom(); },
    oneToOne() { zoom.zoomTo(zoom.oneToOneScale, ...(pointerAt || [zoom.stageWidth / 2, zoom.stageHeight / 2])); applyZoom(); },
    fit() { zoom.fit(); applyZoom(); },
  };

  // --- snap, unpin, proposals ---------------------------------------------------------
  function snap() {
    if (!own) return null;
    const out = snapPose(K, model, own, editor.getPose());
    editor.set({ R: out.R, t: out.t });
    return out;
  }
  function unpinAll() { pins.clear(); refresh(); }

  function showProposals(pose) {
    const list = $('proposal-list');
    if (!list) return;
    list.replaceChildren(...proposalChoices(proposals, pose).map((p, i) => {
      const li = doc.createElement('li');
      li.textContent = `${p.proposer}${p.version ? ` v${p.version}` : ''} · ${p.distance.toFixed(1)}°`;
      li.classList.toggle('active', i === proposalIndex);
      li.dataset.index = String(i);
      return li;
    }));
  }
  function chooseProposal(step) {
    proposalIndex = cycleIndex(proposalIndex, proposals.length, step);
    if (proposalIndex < 0) return null;
    const p = proposals[proposalIndex];
    editor.set({ R: p.R, t: p.t });
    return p;
  }
  const list = $('proposal-list');
  if (list) {
    list.addEventListener('click', (e) => {
      const i = e.target.dataset && e.target.dataset.index;
      if (i === undefined) return;
      proposalIndex = Number(i);
      editor.set({ R: proposals[proposalIndex].R, t: proposals[proposalIndex].t });
    });
  }

  $('btn-snap').disabled = !own;
  $('btn-snap').addEventListener('click', snap);
  $('btn-unpin-all').addEventListener('click', unpinAll);
  $('btn-zoom-in').addEventListener('click', zoomActions.in);
  $('btn-zoom-out').addEventListener('click', zoomActions.out);
  $('btn-zoom-1').addEventListener('click', zoomActions.oneToOne);
  $('btn-zoom-fit').addEventListener('click', zoomActions.fit);
  // Off by default: with the handles over the face, a drag that meant to turn
  // the head would grab a landmark. On when the stored label has pins.
  const handlesBox = $('opt-handles');
  const showHandles = () => { layer.style.display = handlesBox.checked ? '' : 'none'; };
  handlesBox.checked = pins.size > 0;
  handlesBox.addEventListener('change', showHandles);
  showHandles();
  function toggleHandles() { handlesBox.checked = !handlesBox.checked; showHandles(); }

  // keys main.js's controls leave free (controls.js marks what it handled)
  doc.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || typing(e.target) || doc.querySelector('dialog[open]') || e.ctrlKey || e.metaKey || e.altKey) return;
    const actions = {
      '+': zoomActions.in, '=': zoomActions.in, '-': zoomActions.out, '1': zoomActions.oneToOne, '0': zoomActions.fit,
      p: () => chooseProposal(1), P: () => chooseProposal(-1), x: snap, c: unpinAll, h: toggleHandles,
    };
    const action = actions[e.key];
    if (!action) return;
    e.preventDefault();
    action();
  });

  applyZoom();

  return {
    refresh,
    pinsForSave: () => pins.list(),
    // window.headposeEditor's landmark API (image pixels, iBUG-68 order)
    api: {
      landmarks,
      pins: () => pins.list(),
      showHandles(on) { handlesBox.checked = Boolean(on); showHandles(); },
      pin(index, x, y) {
        const inside = clampToImage([x, y], width, height);
        if (inside[0] !== x || inside[1] !== y) throw new RangeError(`(${x}, ${y}) lies outside the image`);
        const from = editor.getPose();
        pins.set(index, x, y);
        const out = solveFrom(from);
        editor.commit();
        return out;
      },
      unpin(index) { const had = pins.delete(index); refresh(); return had; },
      solve() { const out = solveFrom(editor.getPose()); editor.commit(); return out; },
      snap,
      chooseProposal,
      zoom: {
        get scale() { return zoom.scale; },
        get oneToOneScale() { return zoom.oneToOneScale; },
        set(scale, u, v) { zoom.zoomTo(scale); if (u !== undefined) zoom.centreOn(u, v); applyZoom(); },
        fit: zoomActions.fit,
      },
    },
  };
}
