// pose.js against scipy (fixtures) and against what the convention means on screen.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { projectPoint } from '../../static/js/editor/camera.js';
import {
  apply, axisAngle, checkPose, clonePose, eulerToMatrix, isRotation, matmul, matrixToEuler,
  orthonormalize, posesEqual, toThree, transpose,
} from '../../static/js/editor/pose.js';
import { assertClose, fixture } from './helpers.mjs';

const I = [1, 0, 0, 0, 1, 0, 0, 0, 1];

describe('Euler angles (AFLW2000: R = Rx(-pitch) Ry(yaw) Rz(roll))', () => {
  test('eulerToMatrix equals scipy', () => {
    for (const { euler, R } of fixture('euler_to_matrix')) assertClose(eulerToMatrix(...euler), R, 1e-12, `euler ${euler}`);
  });

  test('matrixToEuler equals scipy, yaw in [-90, 90]', () => {
    for (const { R, euler } of fixture('matrix_to_euler')) {
      const got = matrixToEuler(R);
      assertClose(got, euler, 1e-9, `R ${R}`);
      assert.ok(Math.abs(got[0]) <= 90);
    }
  });

  test('angles come back from their matrix', () => {
    for (const { euler } of fixture('euler_to_matrix')) {
      if (Math.abs(euler[0]) > 89) continue; // near gimbal lock pitch and roll trade places
      const back = matrixToEuler(eulerToMatrix(...euler));
      assertClose(back.map((v, i) => v - 360 * Math.round((v - euler[i]) / 360)), euler, 1e-9, `euler ${euler}`);
    }
  });

  // Head frame: x to image-right, y to the chin, z to the back (the nose points to -z).
  const K = [500, 0, 320, 0, 500, 240, 0, 0, 1];
  const t = [0, 0, 1000];
  const seen = (R, X) => projectPoint(K, apply(R, X).map((v, i) => v + t[i]));
  const nose = [0, 0, -100];
  const crown = [0, -100, 0];

  test('identity faces the camera upright', () => {
    assert.deepEqual(eulerToMatrix(0, 0, 0).map((v) => v + 0), I);
    assertClose(seen(I, nose), [320, 240], 1e-9);
    assert.ok(seen(I, crown)[1] < 240, 'the top of the head is up in the image');
  });

  test('+yaw turns the face to image-left', () => {
    assert.ok(seen(eulerToMatrix(30, 0, 0), nose)[0] < 320 - 10);
    assert.ok(seen(eulerToMatrix(-30, 0, 0), nose)[0] > 320 + 10);
  });

  test('+pitch lifts the chin (the nose goes up in the image)', () => {
    assert.ok(seen(eulerToMatrix(0, 20, 0), nose)[1] < 240 - 10);
    assert.ok(seen(eulerToMatrix(0, -20, 0), nose)[1] > 240 + 10);
  });

  test('+roll tilts the top of the head to image-right', () => {
    assert.ok(seen(eulerToMatrix(0, 0, 20), crown)[0] > 320 + 10);
    assert.ok(seen(eulerToMatrix(0, 0, -20), crown)[0] < 320 - 10);
  });
});

describe('matrix helpers', () => {
  const R = eulerToMatrix(15, -8, 4);

  test('matmul, transpose and apply agree with each other', () => {
    assertClose(matmul(R, transpose(R)), I, 1e-15);
    assertClose(matmul(I, R), R, 0);
    const v = [1, -2, 3];
    const column = matmul(R, [v[0], 0, 0, v[1], 0, 0, v[2], 0, 0]);
    assertClose(apply(R, v), [column[0], column[3], column[6]], 1e-15);
    assert.deepEqual(transpose(transpose(R)), R);
  });

  test('axisAngle equals scipy (any axis length), identity for no turn', () => {
    for (const { axis, angle, R: want } of fixture('axis_angle')) assertClose(axisAngle(axis, angle), want, 1e-12);
    assert.deepEqual(axisAngle([0, 0, 0], 1), I);
    assert.deepEqual(axisAngle([0, 1, 0], 0), I);
  });

  test('orthonormalize repairs drift, keeps the first column direction', () => {
    const drifted = R.map((v, i) => v + 1e-3 * Math.sin(7 * i + 1));
    const fixed = orthonormalize(drifted);
    assert.ok(!isRotation(drifted, 1e-6) && isRotation(fixed, 1e-12));
    assertClose(fixed, R, 5e-3);
    const n = Math.hypot(drifted[0], drifted[3], drifted[6]);
    assertClose([fixed[0], fixed[3], fixed[6]], [drifted[0] / n, drifted[3] / n, drifted[6] / n], 1e-15);
    assertClose(orthonormalize(R), R, 1e-15);
  });

  test('isRotation accepts rotations only', () => {
    assert.ok(isRotation(R) && isRotation(I));
    assert.ok(!isRotation(R.map((v, i) => (i % 3 === 0 ? -v : v))), 'a reflection (det -1)');
    assert.ok(!isRotation(R.map((v) => 2 * v)), 'scaled');
    assert.ok(!isRotation(R.slice(0, 8)), 'eight numbers');
    assert.ok(!isRotation([...R.slice(0, 8), NaN]), 'NaN');
    assert.ok(!isRotation([true, false, false, false, true, false, false, false, true]), 'booleans');
    assert.ok(!isRotation('1,0,0,0,1,0,0,0,1') && !isRotation(null));
  });
});

describe('poses', () => {
  test('toThree is the OpenCV pose seen in the y-up, -z-forward frame (F = diag(1,-1,-1))', () => {
    const R = eulerToMatrix(20, -10, 5);
    const t = [12, -30, 800];
    const three = toThree(R, t);
    const flip = (v) => [v[0], -v[1], -v[2]];
    for (const X of [[0, 0, 0], [50, -20, 90], [-70, 40, -10]]) {
      const cam = apply(R, X).map((v, i) => v + t[i]);
      const viaThree = apply(three.R, flip(X)).map((v, i) => v + three.t[i]);
      assertClose(viaThree, flip(cam), 1e-12);
    }
  });

  test('clonePose copies, posesEqual compares within a tolerance', () => {
    const pose = { R: eulerToMatrix(1, 2, 3), t: [1, 2, 3] };
    const copy = clonePose(pose);
    copy.R[0] = 5; copy.t[2] = 9;
    assert.ok(pose.R[0] !== 5 && pose.t[2] === 3);
    const near = { R: pose.R.map((v) => v + 1e-12), t: [1, 2, 3 + 1e-12] };
    assert.ok(posesEqual(pose, near) && !posesEqual(pose, near, 0));
  });

  test('checkPose returns a copy of a valid pose and names what is wrong otherwise', () => {
    const pose = { R: eulerToMatrix(10, 0, 0), t: [0, 0, 700] };
    const checked = checkPose(pose);
    assert.deepEqual(checked, pose);
    assert.notEqual(checked.R, pose.R);
    assert.throws(() => checkPose(null), /pose\.R must be 9 numbers/);
    assert.throws(() => checkPose({ R: [1, 0, 0, 0, 1, 0, 0, 0, -1], t: [0, 0, 1] }), /pose\.R/);
    assert.throws(() => checkPose({ R: I, t: [0, 0] }), /pose\.t must be 3 finite numbers/);
    assert.throws(() => checkPose({ R: I, t: [0, 0, Infinity] }), /pose\.t/);
    assert.throws(() => checkPose({ R: I, t: [false, 0, 700] }), /pose\.t/);
  });
});
