// landmark_logic.js: the landmark tool's decisions without the DOM.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MAGNIFIER_PX, MAGNIFIER_ZOOM, TOOL_ACTIONS, checkInsideImage, dragTarget, handleRadius, magnifierPlace,
  magnifierSource, markUnit, nearestLandmark, pinMarkPath, pinReadout, proposalLabel, startDrag, zoomPercent,
} from '../../static/js/editor/landmark_logic.js';
import { wheelZoomFactor } from '../../static/js/editor/view_zoom.js';
import { Keymap } from '../../static/js/keymap.js';

describe('handles and marks', () => {
  test('marks keep their size on screen: 1/400 of the image, shrinking with the square root of the zoom', () => {
    assert.equal(markUnit(800, 400, 1), 2);
    assert.equal(markUnit(400, 800, 4), 1);
    assert.ok(handleRadius(1, true) > handleRadius(1, false)); // a pinned handle stands out
  });

  test("a pin's mark is a cross centred where it was placed", () => {
    assert.equal(pinMarkPath({ x: 10, y: 20 }, 2), 'M5 20H15M10 15V25');
  });
});

describe('dragging', () => {
  const points = [[0, 0], [10, 0], [10, 0.5], [20, 20]];

  test('a press grabs the nearest landmark; of two equally near, the first', () => {
    assert.equal(nearestLandmark(points, [9, 0.1]), 1);
    assert.equal(nearestLandmark(points, [10, 0.25]), 1);
    assert.equal(nearestLandmark(points, [18, 30]), 3);
    assert.equal(nearestLandmark([], [0, 0]), -1);
  });

  test('the grabbed landmark keeps its offset from the pointer, and its pin stays inside the image', () => {
    const drag = startDrag(points, [19, 21]);
    assert.deepEqual(drag, { index: 3, offset: [1, -1] });
    assert.deepEqual(dragTarget([30, 40], drag.offset, 100, 100), [31, 39]);
    assert.deepEqual(dragTarget([150, 0], drag.offset, 100, 100), [99.5, -0.5]);
  });

  test('a pin from the API outside the image is refused, never moved inside', () => {
    assert.doesNotThrow(() => checkInsideImage(-0.5, 99.5, 100, 100));
    assert.throws(() => checkInsideImage(-5, 10, 100, 100), /lies outside the image/);
    assert.throws(() => checkInsideImage(5, 100, 100, 100), RangeError);
  });
});

describe('readouts', () => {
  test('the RMSE and the count name the last solve only when something is pinned', () => {
    assert.deepEqual(pinReadout(0, 0, 'none'), { rmse: '–', count: '0 pinned' });
    assert.deepEqual(pinReadout(5, 1.234, 'full'), { rmse: '1.23 px', count: '5 pinned · full solve (6DoF)' });
    assert.equal(pinReadout(3, 0.5, 'rotation+xy').count, '3 pinned · partial solve: rotation and x/y (depth held)');
    assert.equal(pinReadout(2, 0.5, 'none').count, '2 pinned'); // loaded with the label, not solved yet
  });

  test('zoom: 100% is one image pixel per screen pixel', () => {
    assert.equal(zoomPercent(0.5, 0.5), '100%');
    assert.equal(zoomPercent(1, 0.5), '200%');
    assert.equal(zoomPercent(0.333, 1), '33%');
  });

  test('a proposal line: proposer, version when there is one, distance', () => {
    assert.equal(proposalLabel({ proposer: 'fused', version: 3, distance: 12.34 }), 'fused v3 · 12.3°');
    assert.equal(proposalLabel({ proposer: 'hopenet', version: null, distance: 0 }), 'hopenet · 0.0°');
  });
});

describe('magnifier', () => {
  test('shows a square centred on the pixel, MAGNIFIER_ZOOM screen px per shown px', () => {
    const src = magnifierSource(100, 50, 2);
    assert.equal(src.span, MAGNIFIER_PX / (MAGNIFIER_ZOOM * 2));
    // OpenCV pixel u covers source x [u, u + 1]: its centre is the square's centre
    assert.equal(src.x + src.span / 2, 100.5);
    assert.equal(src.y + src.span / 2, 50.5);
  });

  test('sits above-left of the pointer, flipped to stay inside the stage', () => {
    assert.deepEqual(magnifierPlace(500, 400), { left: 500 - MAGNIFIER_PX - 24, top: 400 - MAGNIFIER_PX - 24 });
    assert.deepEqual(magnifierPlace(50, 400), { left: 74, top: 400 - MAGNIFIER_PX - 24 });
    assert.deepEqual(magnifierPlace(500, 10), { left: 500 - MAGNIFIER_PX - 24, top: 34 });
  });
});

describe('wheel and keys', () => {
  test('wheel zoom: down zooms out, up in, a fast wheel is clamped, a pinch (ctrlKey) is stronger', () => {
    assert.ok(wheelZoomFactor({ deltaY: 100 }) < 1 && wheelZoomFactor({ deltaY: -100 }) > 1);
    assert.equal(wheelZoomFactor({ deltaY: 0 }), 1);
    assert.equal(wheelZoomFactor({ deltaY: 5000 }), wheelZoomFactor({ deltaY: 200 }));
    assert.ok(Math.abs(wheelZoomFactor({ deltaY: 100 }) * wheelZoomFactor({ deltaY: -100 }) - 1) < 1e-12);
    assert.equal(wheelZoomFactor({ deltaY: 4, ctrlKey: true }), wheelZoomFactor({ deltaY: 20 }));
    assert.equal(wheelZoomFactor({ deltaY: 3, deltaMode: 1 }), wheelZoomFactor({ deltaY: 99 }));
  });

  test("the tool's actions are the keymap's, on the labeling page only", () => {
    const km = new Keymap('label');
    for (const id of TOOL_ACTIONS) assert.ok(km.actions().some((a) => a.id === id), id);
    assert.deepEqual(TOOL_ACTIONS.map((id) => km.label(id)), ['X', 'Shift+X', 'H', 'P', 'Shift+P', 'Y', 'G']);
    assert.equal(new Keymap('review').resolve({ key: 'x' }), null);
  });
});
