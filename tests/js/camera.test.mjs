// camera.js against cv2.projectPoints (fixtures) and three.js's own matrix code.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Matrix4, Vector3 } from '../../static/vendor/three/build/three.module.js';
import { eventToPixel, imageViewBox, projectPoint, projectionFromK } from '../../static/js/editor/camera.js';
import { apply, toThree } from '../../static/js/editor/pose.js';
import { assertClose, fixture } from './helpers.mjs';

const cases = fixture('projection');
const NEAR = 10;
const FAR = 10000;

function cameraPoints({ R, t, X_head }) {
  return X_head.map((X) => apply(R, X).map((v, i) => v + t[i]));
}

/** WebGL normalized device coordinates -> OpenCV pixels (pixel centres at integers). */
function ndcToPixel([x, y], W, H) {
  return [(x + 1) / 2 * W - 0.5, (1 - y) / 2 * H - 0.5];
}

describe('projectPoint', () => {
  test('equals cv2.projectPoints (off-centre principal points, fx != fy, non-square images)', () => {
    for (const c of cases) {
      cameraPoints(c).forEach((X, i) => assertClose(projectPoint(c.K, X), c.pixels[i], 1e-9, `${c.width}x${c.height}`));
    }
  });
});

describe('projectionFromK', () => {
  test('puts three.js camera points where cv2.projectPoints puts the OpenCV ones', () => {
    for (const c of cases) {
      const P = new Matrix4().fromArray(projectionFromK(c.K, c.width, c.height, NEAR, FAR));
      const { R, t } = toThree(c.R, c.t);
      c.X_head.forEach((X, i) => {
        // the head's own points go through the three.js frame: F X, then [R3 | t3]
        const X3 = apply(R, [X[0], -X[1], -X[2]]).map((v, k) => v + t[k]);
        const ndc = new Vector3(...X3).applyMatrix4(P); // applyMatrix4 divides by w
        assertClose(ndcToPixel([ndc.x, ndc.y], c.width, c.height), c.pixels[i], 1e-7, `${c.width}x${c.height} point ${i}`);
        assert.ok(ndc.z > -1 && ndc.z < 1, 'inside the depth range');
      });
    }
  });

  test('the image edges are the edges of clip space', () => {
    for (const { K, width: W, height: H } of cases) {
      const P = new Matrix4().fromArray(projectionFromK(K, W, H, NEAR, FAR));
      // OpenCV pixel (u, v) at depth z: back through K, then into the three.js frame
      const at = (u, v, z) => {
        const y = (v - K[5]) / K[4] * z;
        const x = (u - K[2] - K[1] * y / z) / K[0] * z;
        return new Vector3(x, -y, -z).applyMatrix4(P);
      };
      assertClose(at(-0.5, -0.5, 800).toArray().slice(0, 2), [-1, 1], 1e-9, 'top-left corner');
      assertClose(at(W - 0.5, H - 0.5, 800).toArray().slice(0, 2), [1, -1], 1e-9, 'bottom-right corner');
      assertClose(at(0, 0, 800).toArray().slice(0, 2), [-1 + 1 / W, 1 - 1 / H], 1e-9, 'centre of the top-left pixel');
      assert.ok(Math.abs(at(100, 100, NEAR).z + 1) < 1e-9, 'near plane at depth -1');
      assert.ok(Math.abs(at(100, 100, FAR).z - 1) < 1e-9, 'far plane at depth 1');
    }
  });

  test('honours skew', () => {
    const K = [800, 25, 300, 0, 760, 210, 0, 0, 1];
    const P = new Matrix4().fromArray(projectionFromK(K, 640, 480, NEAR, FAR));
    for (const X of [[40, -30, 900], [-120, 80, 1300]]) {
      const uvw = [0, 1, 2].map((r) => K[3 * r] * X[0] + K[3 * r + 1] * X[1] + K[3 * r + 2] * X[2]);
      const ndc = new Vector3(X[0], -X[1], -X[2]).applyMatrix4(P);
      assertClose(ndcToPixel([ndc.x, ndc.y], 640, 480), [uvw[0] / uvw[2], uvw[1] / uvw[2]], 1e-9);
      assertClose(projectPoint(K, X), [uvw[0] / uvw[2], uvw[1] / uvw[2]], 1e-9);
    }
  });
});

describe('pixels on the page', () => {
  test('the SVG viewBox spans the pixel edges', () => {
    assert.equal(imageViewBox(640, 480), '-0.5 -0.5 640 480');
    assert.equal(imageViewBox(300, 800), '-0.5 -0.5 300 800');
  });

  test('a pointer over a pixel centre reads that pixel, at any display size', () => {
    for (const [W, H, rect] of [
      [640, 480, { left: 10, top: 20, width: 640, height: 480 }],
      [640, 480, { left: 0, top: 55, width: 320, height: 240 }], // shown at half size
      [300, 800, { left: 7.5, top: 3, width: 450, height: 1200 }], // shown at 1.5x
    ]) {
      const element = { getBoundingClientRect: () => rect };
      // where the viewBox draws OpenCV pixel (u, v) on the page
      const onPage = (u, v) => ({ clientX: rect.left + (u + 0.5) / W * rect.width, clientY: rect.top + (v + 0.5) / H * rect.height });
      for (const [u, v] of [[0, 0], [W - 1, H - 1], [123.25, 45.5]]) assertClose(eventToPixel(onPage(u, v), element, W, H), [u, v], 1e-9);
      assertClose(eventToPixel({ clientX: rect.left, clientY: rect.top }, element, W, H), [-0.5, -0.5], 1e-12, 'the corner');
    }
  });
});
