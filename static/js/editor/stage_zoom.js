// Zoom and pan of an editor page's stage (the photo, the 3D canvas, the SVG
// layers): the wheel and a trackpad pinch zoom at the pointer, a middle-drag
// pans, the keymap's zoom keys (static/js/keymap.js) zoom at the last pointer
// position. The wheel never changes the pose. The geometry is view_zoom.js's.
import { typing } from './controls.js';
import { ViewZoom, wheelZoomFactor } from './view_zoom.js';

/**
 * stage: the element that clips; elements: what is zoomed (one CSS transform each);
 * imageWidth: the image's pixels; keymap: the page's Keymap (its zoom actions);
 * onChange(zoom): after every change. Returns {zoom, apply, actions}.
 */
export function attachStageZoom({ stage, elements, imageWidth, keymap, onChange = () => {}, doc = document }) {
  const zoom = new ViewZoom(stage.clientWidth || imageWidth, stage.clientHeight || imageWidth, imageWidth);
  let pointerAt = null; // the last pointer position over the stage, stage CSS px
  let pan = null;
  const apply = () => {
    for (const el of elements) { el.style.transformOrigin = '0 0'; el.style.transform = zoom.css; }
    onChange(zoom);
  };
  const stagePoint = (e) => { const r = stage.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
  const focus = () => pointerAt || [zoom.stageWidth / 2, zoom.stageHeight / 2];

  stage.addEventListener('pointermove', (e) => { pointerAt = stagePoint(e); }, { capture: true, passive: true });
  // captured before the canvas and the handles: the page does not scroll, the pose does not change
  stage.addEventListener('wheel', (e) => {
    e.preventDefault();
    e.stopPropagation();
    zoom.zoomAt(wheelZoomFactor(e), ...stagePoint(e));
    apply();
  }, { capture: true, passive: false });
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
    apply();
  });
  stage.addEventListener('pointerup', (e) => {
    if (!pan) return;
    pan = null;
    if (stage.hasPointerCapture(e.pointerId)) stage.releasePointerCapture(e.pointerId);
  });
  // zoom.imageWidth: the labeling page shows the next face in place (another image, maybe another size)
  new ResizeObserver(() => { zoom.resize(stage.clientWidth, stage.clientHeight, zoom.imageWidth); apply(); }).observe(stage);

  const actions = {
    zoomIn() { zoom.zoomAt(1.25, ...focus()); apply(); },
    zoomOut() { zoom.zoomAt(0.8, ...focus()); apply(); },
    zoomOneToOne() { zoom.zoomTo(zoom.oneToOneScale, ...focus()); apply(); },
    zoomFit() { zoom.fit(); apply(); },
  };
  doc.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || typing(e.target) || doc.querySelector('dialog[open]')) return;
    const hit = keymap.resolve(e);
    if (!hit || !Object.hasOwn(actions, hit.action)) return;
    e.preventDefault();
    actions[hit.action]();
  });
  return { zoom, apply, actions };
}
