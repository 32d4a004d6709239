// 2D marks over the image (face box, the face's 2D landmarks) in an SVG whose
// user units are OpenCV pixels (camera.js sets the viewBox).
import { imageViewBox } from './camera.js';

const NS = 'http://www.w3.org/2000/svg';

export function drawOverlay(svg, { width, height, box, landmarks }) {
  svg.setAttribute('viewBox', imageViewBox(width, height));
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.replaceChildren();
  const doc = svg.ownerDocument; // not the global one: node tests draw into a stand-in
  const unit = Math.max(width, height) / 400; // marks stay visible on any image size
  const group = doc.createElementNS(NS, 'g');
  group.setAttribute('id', 'landmarks');
  if (Array.isArray(box) && box.length === 4) {
    const r = doc.createElementNS(NS, 'rect');
    r.setAttribute('x', box[0]); r.setAttribute('y', box[1]);
    r.setAttribute('width', box[2] - box[0]); r.setAttribute('height', box[3] - box[1]);
    r.setAttribute('class', 'face-box');
    r.setAttribute('stroke-width', unit);
    group.append(r);
  }
  for (const p of landmarks || []) {
    const c = doc.createElementNS(NS, 'circle');
    c.setAttribute('cx', p[0]); c.setAttribute('cy', p[1]); c.setAttribute('r', 1.3 * unit);
    c.setAttribute('class', 'landmark');
    group.append(c);
  }
  svg.append(group);
  return group;
}
