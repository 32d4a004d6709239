// matrixToEulerWide: yaw beyond +-90 (the back of the head) in the editor's fields.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eulerToMatrix, matrixToEuler, matrixToEulerWide } from '../../static/js/editor/pose.js';
import { assertClose, fixture } from './helpers.mjs';

describe('wide-range Euler angles (yaw in (-180, 180], pitch in [-90, 90])', () => {
  test('a head turned past profile keeps its yaw', () => {
    for (const yaw of [95, 120, 150, 179.5, -95, -150, -179.5]) {
      assertClose(matrixToEulerWide(eulerToMatrix(yaw, 10, -5)), [yaw, 10, -5], 1e-9, `yaw ${yaw}`);
      // the [-90, 90] triple of the same rotation has another yaw
      assert.ok(Math.abs(matrixToEuler(eulerToMatrix(yaw, 10, -5))[0]) <= 90);
    }
  });

  test('every rotation comes back from its wide angles, pitch within +-90', () => {
    for (const { R } of fixture('matrix_to_euler')) {
      const e = matrixToEulerWide(R);
      assertClose(eulerToMatrix(...e), R, 1e-9, `R ${R}`);
      assert.ok(Math.abs(e[1]) <= 90 + 1e-9 && e.every((a) => Math.abs(a) <= 180 + 1e-9), `e ${e}`);
    }
  });

  test('it equals the [-90, 90] angles wherever their pitch is within +-90', () => {
    for (const { R, euler } of fixture('matrix_to_euler')) {
      if (Math.abs(euler[1]) < 90) assertClose(matrixToEulerWide(R), euler, 1e-9, `R ${R}`);
    }
  });

  test('nudging yaw by 1 deg from 88 passes 90 and keeps going', () => {
    let e = [88, 0, 0];
    for (let k = 0; k < 5; k++) { e = matrixToEulerWide(eulerToMatrix(e[0] + 1, e[1], e[2])); }
    assertClose(e, [93, 0, 0], 1e-9);
  });
});
