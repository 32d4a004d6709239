// overlay.js: the face box and 2D landmarks drawn in OpenCV pixel units.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drawOverlay } from '../../static/js/editor/overlay.js';
import { fakeSvg } from './helpers.mjs';

const NS = 'http://www.w3.org/2000/svg';

test('draws the box and the landmarks where OpenCV puts them', () => {
  const svg = fakeSvg();
  const landmarks = [[100.5, 200], [0, 0], [639, 479]];
  const group = drawOverlay(svg, { width: 640, height: 480, box: [50, 60, 250, 300], landmarks });
  assert.equal(svg.getAttribute('viewBox'), '-0.5 -0.5 640 480');
  assert.equal(svg.getAttribute('preserveAspectRatio'), 'none', 'the image is stretched the same way');
  assert.deepEqual(svg.children, [group]);
  assert.equal(group.getAttribute('id'), 'landmarks');
  const [rect, ...dots] = group.children;
  assert.equal(rect.namespace, NS);
  assert.equal(rect.tagName, 'rect');
  assert.deepEqual(['x', 'y', 'width', 'height'].map((a) => Number(rect.getAttribute(a))), [50, 60, 200, 240]);
  assert.deepEqual(dots.map((c) => [Number(c.getAttribute('cx')), Number(c.getAttribute('cy'))]), landmarks);
  assert.ok(dots.every((c) => c.tagName === 'circle' && c.getAttribute('class') === 'landmark'));
});

test('marks grow with the image so they stay visible', () => {
  const small = drawOverlay(fakeSvg(), { width: 400, height: 300, box: [0, 0, 10, 10], landmarks: [[1, 1]] });
  const large = drawOverlay(fakeSvg(), { width: 1200, height: 4000, box: [0, 0, 10, 10], landmarks: [[1, 1]] });
  const sizes = (g) => [Number(g.children[0].getAttribute('stroke-width')), Number(g.children[1].getAttribute('r'))];
  assert.deepEqual(sizes(small), [1, 1.3]);
  assert.deepEqual(sizes(large), [10, 13]);
});

test('no box and no landmarks draw an empty group; a redraw replaces the old marks', () => {
  const svg = fakeSvg();
  drawOverlay(svg, { width: 100, height: 100, box: [1, 2, 3, 4], landmarks: [[5, 5]] });
  const group = drawOverlay(svg, { width: 100, height: 100, box: null, landmarks: undefined });
  assert.deepEqual(svg.children, [group]);
  assert.deepEqual(group.children, []);
  assert.deepEqual(drawOverlay(fakeSvg(), { width: 100, height: 100, box: [1, 2, 3], landmarks: [] }).children, [], 'a box needs 4 numbers');
});
