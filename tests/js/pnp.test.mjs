// pnp.js: the pose from 2D-3D pairs. (Held against cv2.solvePnP on real
// AFLW2000 samples by tests/js/test_pnp_against_cv2.py; here: its own promises.)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { axisAngle, eulerToMatrix, matmul } from '../../static/js/editor/pose.js';
import {
  geodesicDegrees, projectPoints, reprojectionRmse, snapPose, solveKind, solvePins, solvePnP,
} from '../../static/js/editor/pnp.js';

const K = [800, 0, 319.5, 0, 800, 239.5, 0, 0, 1];

function random(seed) { // mulberry32: the same cases every run
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand) { return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()); }

// A head-sized cloud of 68 points (mm, head frame, nose toward -z).
function face(rand) {
  return Array.from({ length: 68 }, () => [(rand() - 0.5) * 140, (rand() - 0.5) * 160, (rand() - 0.7) * 80]);
}

function randomPose(rand) {
  const R = eulerToMatrix((rand() - 0.5) * 140, (rand() - 0.5) * 80, (rand() - 0.5) * 60);
  return { R, t: [(rand() - 0.5) * 100, (rand() - 0.5) * 100, 500 + rand() * 700] };
}

function perturb(pose, rand, degrees, mm) {
  const axis = [gaussian(rand), gaussian(rand), gaussian(rand)];
  return { R: matmul(axisAngle(axis, degrees * Math.PI / 180), pose.R), t: pose.t.map((v) => v + gaussian(rand) * mm) };
}

const distance = (a, b) => Math.hypot(a.t[0] - b.t[0], a.t[1] - b.t[1], a.t[2] - b.t[2]);

describe('solvePnP (least squares, Levenberg-Marquardt)', () => {
  test('recovers the pose exactly from exact points, starting 10-20 degrees off', () => {
    const rand = random(1);
    for (let k = 0; k < 40; k++) {
      const P = face(rand), truth = randomPose(rand);
      const uv = projectPoints(K, P, truth);
      const out = solvePnP(K, P, uv, perturb(truth, rand, 10 + 10 * rand(), 30));
      assert.ok(geodesicDegrees(out.R, truth.R) < 1e-6, `case ${k}: ${geodesicDegrees(out.R, truth.R)} deg`);
      assert.ok(distance(out, truth) < 1e-4, `case ${k}: ${distance(out, truth)} mm`);
    }
  });

  test('with noisy points the result is a minimum: no small move lowers the cost', () => {
    const rand = random(2);
    const P = face(rand), truth = randomPose(rand);
    const uv = projectPoints(K, P, truth).map(([u, v]) => [u + gaussian(rand) * 2, v + gaussian(rand) * 2]);
    const out = solvePnP(K, P, uv, perturb(truth, rand, 5, 10));
    const cost = (pose) => projectPoints(K, P, pose).reduce((s, [u, v], i) => s + (u - uv[i][0]) ** 2 + (v - uv[i][1]) ** 2, 0);
    assert.ok(Math.abs(cost(out) - out.cost) < 1e-6 * out.cost);
    for (let k = 0; k < 30; k++) {
      assert.ok(cost(perturb(out, rand, 0.01, 0.05)) >= out.cost - 1e-9);
    }
  });

  test('honours skew in K', () => {
    const rand = random(3);
    const Ks = [900, 12, 300, 0, 880, 250, 0, 0, 1];
    const P = face(rand), truth = randomPose(rand);
    const out = solvePnP(Ks, P, projectPoints(Ks, P, truth), perturb(truth, rand, 8, 20));
    assert.ok(geodesicDegrees(out.R, truth.R) < 1e-6);
  });

  test('refuses mismatched inputs and a start with points behind the camera', () => {
    const P = face(random(4));
    const pose = { R: [1, 0, 0, 0, 1, 0, 0, 0, 1], t: [0, 0, 600] };
    assert.throws(() => solvePnP(K, P, projectPoints(K, P, pose).slice(1), pose), RangeError);
    assert.throws(() => solvePnP(K, P, projectPoints(K, P, pose), { R: pose.R, t: [0, 0, -600] }), RangeError);
  });
});

describe('solvePins', () => {
  const rand = random(5);
  const P = face(rand);
  const pose = { R: eulerToMatrix(10, -5, 3), t: [5, -10, 700] };
  const shown = projectPoints(K, P, pose);

  test('no pins: the pose as it was', () => {
    const out = solvePins(K, P, [], pose);
    assert.deepEqual([out.R, out.t, out.mode], [pose.R, pose.t, 'none']);
  });

  test('1-3 pins: a partial solve (depth held; 1 pin: rotation too) that meets the pins and moves the head little', () => {
    for (const n of [1, 2, 3]) {
      const pins = Array.from({ length: n }, (_, i) => ({ index: 7 * i + 3, x: shown[7 * i + 3][0] + 12, y: shown[7 * i + 3][1] - 6 }));
      const out = solvePins(K, P, pins, pose);
      assert.equal(out.mode, n === 1 ? 'xy' : 'rotation+xy');
      assert.equal(out.t[2], pose.t[2], 'depth held');
      if (n === 1) assert.deepEqual(out.R, pose.R, 'rotation held');
      assert.ok(Math.abs(out.before - Math.hypot(12, 6)) < 1e-9);
      assert.ok(out.rmse < 0.5, `${n} pins: rmse ${out.rmse}`);
      assert.ok(out.rmse === reprojectionRmse(K, P, pins, out));
      assert.ok(geodesicDegrees(out.R, pose.R) < 5, `${n} pins turned the head ${geodesicDegrees(out.R, pose.R)} deg`);
      // an unpinned point far from the pins moved by less than the pins did
      const before = shown[60], after = projectPoints(K, [P[60]], out)[0];
      assert.ok(Math.hypot(after[0] - before[0], after[1] - before[1]) < Math.hypot(12, 6) * 2.5);
    }
  });

  test('pins where the points already are: nothing moves', () => {
    const pins = [{ index: 1, x: shown[1][0], y: shown[1][1] }, { index: 30, x: shown[30][0], y: shown[30][1] }];
    const out = solvePins(K, P, pins, pose);
    assert.ok(geodesicDegrees(out.R, pose.R) < 1e-6 && distance(out, pose) < 1e-4);
  });

  test('4 or more pins: a full solve that finds a pose 25 degrees away', () => {
    const truth = { R: matmul(eulerToMatrix(25, 0, 0), pose.R), t: [20, 0, 650] };
    const target = projectPoints(K, P, truth);
    const pins = [2, 11, 19, 27, 40, 52].map((index) => ({ index, x: target[index][0], y: target[index][1] }));
    const out = solvePins(K, P, pins, pose);
    assert.equal(out.mode, 'full');
    assert.ok(geodesicDegrees(out.R, truth.R) < 1e-6 && out.rmse < 1e-6);
  });

  test('4 pins on one line (the nose ridge) fix no roll about it: a partial solve', () => {
    const line = [0, 1, 2, 3].map((k) => [0, -30 + 20 * k, -10 - 5 * k]);
    const Q = P.map((p, i) => (i >= 27 && i <= 30 ? line[i - 27] : p));
    const at = projectPoints(K, Q, pose);
    const pins = [27, 28, 29, 30].map((index) => ({ index, x: at[index][0] + 3, y: at[index][1] }));
    assert.equal(solveKind(Q, pins), 'rotation+xy');
    assert.equal(solveKind(Q, [...pins, { index: 36, x: 0, y: 0 }]), 'full');
    assert.equal(solvePins(K, Q, pins, pose).t[2], pose.t[2]);
  });
});

describe('snapPose (Huber)', () => {
  test('outliers pull a plain fit off; the robust fit stays on the truth', () => {
    const rand = random(6);
    const P = face(rand), truth = randomPose(rand);
    const uv = projectPoints(K, P, truth).map(([u, v]) => [u + gaussian(rand) * 0.5, v + gaussian(rand) * 0.5]);
    for (let i = 0; i < 10; i++) { uv[i * 6][0] += 40; uv[i * 6][1] -= 25; }
    const start = perturb(truth, rand, 6, 10);
    const plain = solvePnP(K, P, uv, start);
    const robust = snapPose(K, P, uv, start, 2);
    const plainError = geodesicDegrees(plain.R, truth.R), robustError = geodesicDegrees(robust.R, truth.R);
    assert.ok(robustError < 0.5 * plainError, `robust ${robustError} vs plain ${plainError}`);
    assert.ok(robustError < 0.6, `robust ${robustError}`);
  });
});
