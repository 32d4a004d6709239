// pins.js and view_zoom.js: the landmark tool's pure parts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eulerToMatrix } from '../../static/js/editor/pose.js';
import { PinSet, clampToImage, cycleIndex, proposalChoices } from '../../static/js/editor/pins.js';
import { ViewZoom } from '../../static/js/editor/view_zoom.js';

describe('PinSet', () => {
  test('one pin per landmark, listed by index; bad pins refused', () => {
    const pins = new PinSet([{ index: 45, x: 10, y: 20 }]);
    pins.set(8, 1, 2);
    pins.set(45, 11, 21); // moved, not added
    assert.deepEqual(pins.list(), [{ index: 8, x: 1, y: 2 }, { index: 45, x: 11, y: 21 }]);
    assert.equal(pins.size, 2);
    assert.ok(pins.delete(8) && !pins.delete(8));
    assert.throws(() => pins.set(68, 0, 0), RangeError);
    assert.throws(() => pins.set(1.5, 0, 0), RangeError);
    assert.throws(() => pins.set(3, NaN, 0), TypeError);
    pins.list()[0].x = 999; // a copy
    assert.equal(pins.list()[0].x, 11);
  });

  test('clampToImage keeps points on the pixel edges', () => {
    assert.deepEqual(clampToImage([-3, 500], 450, 450), [-0.5, 449.5]);
    assert.deepEqual(clampToImage([10, 20], 450, 450), [10, 20]);
  });
});

describe('proposals', () => {
  test('distance is the geodesic angle to the shown pose', () => {
    const shown = { R: eulerToMatrix(0, 0, 0), t: [0, 0, 500] };
    const [a, b] = proposalChoices([{ proposer: 'a', R: eulerToMatrix(10, 0, 0) }, { proposer: 'b', R: eulerToMatrix(0, 0, -25) }], shown);
    assert.ok(Math.abs(a.distance - 10) < 1e-9 && Math.abs(b.distance - 25) < 1e-9);
  });

  test('cycling wraps both ways and starts at either end', () => {
    assert.deepEqual([cycleIndex(-1, 3, 1), cycleIndex(-1, 3, -1), cycleIndex(2, 3, 1), cycleIndex(0, 3, -1)], [0, 2, 0, 2]);
    assert.equal(cycleIndex(-1, 0, 1), -1);
  });
});

describe('ViewZoom', () => {
  test('zooming keeps the point under the cursor still and the photo over the stage', () => {
    const z = new ViewZoom(600, 600, 450);
    const before = [(150 - z.x) / z.scale, (200 - z.y) / z.scale];
    z.zoomAt(4, 150, 200);
    assert.equal(z.scale, 4);
    assert.deepEqual([(150 - z.x) / z.scale, (200 - z.y) / z.scale], before);
    z.panBy(10000, -10000); // clamped: the photo still covers the stage
    assert.deepEqual([z.x, z.y], [0, 600 * (1 - 4)]);
  });

  test('1:1 and fit; the scale stays between its bounds', () => {
    const z = new ViewZoom(900, 900, 450);
    assert.equal(z.oneToOneScale, 0.5);
    z.zoomTo(z.oneToOneScale);
    assert.equal(z.scale, 0.5);
    z.zoomAt(1000, 0, 0);
    assert.equal(z.scale, 32);
    z.fit();
    assert.deepEqual([z.scale, z.x, z.y], [1, 0, 0]);
    assert.equal(z.css, 'translate(0px, 0px) scale(1)');
  });

  test('centreOn puts an image pixel in the middle of the stage', () => {
    const z = new ViewZoom(600, 600, 300);
    z.zoomTo(4);
    z.centreOn(99.5, 149.5);
    const k = 600 / 300 * 4;
    assert.deepEqual([z.x + 100 * k, z.y + 150 * k], [300, 300]);
  });
});
