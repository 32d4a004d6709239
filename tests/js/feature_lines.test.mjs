// feature_lines.js: the iBUG-68 groups of the feature overlay and their projection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FEATURE_GROUPS, featurePaths, featurePolylines, polylinePath } from '../../static/js/editor/feature_lines.js';
import { projectPoints } from '../../static/js/editor/pnp.js';
import { eulerToMatrix } from '../../static/js/editor/pose.js';

test('the groups cover the 68 landmarks once, in order; eyes and lips are loops', () => {
  const covered = FEATURE_GROUPS.flatMap(([, a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
  assert.deepEqual(covered, Array.from({ length: 68 }, (_, i) => i));
  const loops = FEATURE_GROUPS.filter((g) => g[3]).map((g) => g[0]);
  assert.deepEqual(loops, ['right-eye', 'left-eye', 'outer-lips', 'inner-lips']);
  const lines = featurePolylines(Array.from({ length: 68 }, (_, i) => [i, 0]));
  assert.deepEqual(lines.find((l) => l.name === 'nose-ridge').points.map((p) => p[0]), [27, 28, 29, 30]);
  assert.throws(() => featurePolylines([[0, 0]]), RangeError);
});

test('paths are the projected points: open lines and closed loops', () => {
  assert.equal(polylinePath({ points: [[1, 2], [3.456, 4]], closed: false }), 'M1.00 2.00L3.46 4.00');
  assert.equal(polylinePath({ points: [[1, 2], [3, 4], [5, 6]], closed: true }), 'M1.00 2.00L3.00 4.00L5.00 6.00Z');
  const K = [800, 0, 319.5, 0, 800, 239.5, 0, 0, 1];
  const model = Array.from({ length: 68 }, (_, i) => [i - 34, (i % 7) * 5, (i % 3) * 4]);
  const pose = { R: eulerToMatrix(20, -10, 5), t: [10, -5, 600] };
  const uv = projectPoints(K, model, pose);
  const paths = featurePaths(K, model, pose);
  assert.equal(paths.length, FEATURE_GROUPS.length);
  const eye = paths.find((p) => p.name === 'left-eye').d;
  assert.ok(eye.startsWith(`M${uv[42][0].toFixed(2)} ${uv[42][1].toFixed(2)}`) && eye.endsWith('Z'), eye);
  assert.ok(paths[0].d.endsWith(`L${uv[16][0].toFixed(2)} ${uv[16][1].toFixed(2)}`)); // the jaw ends at 16, open
});
