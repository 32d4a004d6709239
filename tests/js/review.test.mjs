// The review page's pure modules: the geodesic angle (against scipy's
// rotations, fixtures), the ghost cycle (G) and the keys.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { axisAngle, eulerToMatrix, matmul } from '../../static/js/editor/pose.js';
import { geodesicDegrees } from '../../static/js/review/angles.js';
import { GhostCycle, ghostColors } from '../../static/js/review/ghosts.js';
import { reasonIndex, reviewAction } from '../../static/js/review/keys.js';
import { Keymap } from '../../static/js/keymap.js';
import { fixture } from './helpers.mjs';

const I = [1, 0, 0, 0, 1, 0, 0, 0, 1];
const DEG = 180 / Math.PI;

describe('geodesicDegrees', () => {
  test('is the rotation angle of scipy rotations (fixtures), from either side', () => {
    for (const { angle, R } of fixture('axis_angle')) {
      assert.ok(Math.abs(geodesicDegrees(I, R) - Math.abs(angle) * DEG) < 1e-9, `angle ${angle}`);
      const B = eulerToMatrix(30, -20, 10); // left-invariant: angle(B, B R) = angle(I, R)
      assert.ok(Math.abs(geodesicDegrees(B, matmul(B, R)) - Math.abs(angle) * DEG) < 1e-9);
      assert.ok(Math.abs(geodesicDegrees(R, I) - Math.abs(angle) * DEG) < 1e-9);
    }
  });

  test('stays accurate near 0 and 180 degrees', () => {
    assert.ok(Math.abs(geodesicDegrees(I, axisAngle([0, 1, 0], 1e-7)) - 1e-7 * DEG) < 1e-12);
    assert.ok(Math.abs(geodesicDegrees(I, axisAngle([1, 2, 3], Math.PI - 1e-6)) - (180 - 1e-6 * DEG)) < 1e-6);
    assert.equal(geodesicDegrees(I, I), 0);
    assert.ok(Math.abs(geodesicDegrees(eulerToMatrix(10, 0, 0), eulerToMatrix(-10, 0, 0)) - 20) < 1e-9);
  });
});

describe('GhostCycle (G)', () => {
  test('all, each one alone, none, all again', () => {
    const c = new GhostCycle(['a', 'b', 'p']);
    const seen = [[...c.visible]];
    for (let i = 0; i < 5; i++) seen.push([...c.next()]);
    assert.deepEqual(seen, [['a', 'b', 'p'], ['a'], ['b'], ['p'], [], ['a', 'b', 'p']]);
  });

  test('one ghost: on, off, on', () => {
    const c = new GhostCycle(['p']);
    assert.deepEqual([[...c.visible], [...c.next()], [...c.next()]], [['p'], [], ['p']]);
  });

  test('no ghost: nothing to show, G does no harm', () => {
    const c = new GhostCycle([]);
    assert.deepEqual([...c.next()], []);
  });

  test('checkboxes set by hand carry on from where they are', () => {
    const c = new GhostCycle(['a', 'b', 'p']);
    assert.deepEqual([...c.setVisible(['b'])], ['b']);
    assert.deepEqual([...c.next()], ['p']);
    assert.deepEqual([...c.setVisible([])], []);
    assert.deepEqual([...c.next()], ['a', 'b', 'p']);
    assert.deepEqual([...c.setVisible(['p', 'a'])], ['a', 'p']); // a mix, then G: all
    assert.deepEqual([...c.next()], ['a', 'b', 'p']);
    assert.equal(c.states.length, 6);
  });

  test('colours: the proposal yellow, annotators each their own', () => {
    const colors = ghostColors([{ key: 'label', kind: 'label' }, { key: 'annotator-1', kind: 'annotator' },
      { key: 'annotator-2', kind: 'annotator' }, { key: 'proposal', kind: 'proposal' }]);
    assert.deepEqual(Object.keys(colors), ['annotator-1', 'annotator-2', 'proposal']);
    assert.notEqual(colors['annotator-1'], colors['annotator-2']);
    assert.equal(colors.proposal, 0xfacc15);
  });
});

describe('review keys', () => {
  const review = new Keymap('review');
  const act = (key, mode, mods = {}) => { const hit = review.resolve({ key, ...mods }); return hit && reviewAction(hit.action, mode); };

  test('reviewing: A approve, D reject, C correct, G ghosts, N next; the pose keys are the editor\'s', () => {
    const got = Object.fromEntries(['a', 'D', 'c', 'g', 'n', 'Enter', 'r', 'Escape', 'ArrowLeft', 'q', 'w', 'f']
      .map((k) => [k, act(k, 'reviewing', { shiftKey: k === 'D' })]));
    assert.deepEqual(got, { a: 'approve', D: null, c: 'correct', g: 'ghosts', n: 'next', Enter: 'ignore', r: 'ignore',
      Escape: null, ArrowLeft: null, q: null, w: null, f: null });
    assert.equal(act('d', 'reviewing'), 'reject');
  });

  test('correcting: S/Enter save, Esc and R back to the label, A does nothing', () => {
    assert.equal(act('s', 'correcting'), 'saveCorrection');
    assert.equal(act('Enter', 'correcting'), 'saveCorrection');
    assert.equal(act('Escape', 'correcting'), 'cancelCorrection');
    assert.equal(act('r', 'correcting'), 'cancelCorrection');
    assert.equal(act('a', 'correcting'), 'ignore');
  });

  test('with Ctrl or Alt the keys are not review actions (Ctrl+Z is undo)', () => {
    assert.equal(act('a', 'reviewing', { ctrlKey: true }), null);
    assert.equal(act('d', 'reviewing', { altKey: true }), null);
    assert.equal(review.resolve({ key: 'z', ctrlKey: true }).action, 'undo');
  });

  test('digits pick a reject reason', () => {
    assert.deepEqual(['1', '4', '5', '0', 'x', '1.5'].map((k) => reasonIndex(k, 4)), [0, 3, -1, -1, -1, -1]);
  });
});
