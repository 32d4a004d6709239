// controls.js: what a drag and the keys do to the pose (the wheel does not: it zooms, stage_zoom.js).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { projectPoint } from '../../static/js/editor/camera.js';
import { attachKeyboard, attachPointer, clampDepth } from '../../static/js/editor/controls.js';
import { apply, clonePose, isRotation, matrixToEuler } from '../../static/js/editor/pose.js';
import { Keymap } from '../../static/js/keymap.js';
import { assertClose } from './helpers.mjs';

const K = [600, 0, 330, 0, 580, 230, 0, 0, 1];
const W = 640;
const H = 480;
const IDENTITY = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/** Listeners by event type; fire() hands them a plain event object. */
class FakeTarget {
  constructor() { this.listeners = {}; }
  addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }
  fire(type, props = {}) {
    const event = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; }, ...props };
    for (const fn of this.listeners[type] || []) fn(event);
    return event;
  }
}

/** A canvas shown 1:1 at the page origin, so clientX = u + 0.5. */
class FakeCanvas extends FakeTarget {
  constructor() { super(); this.captured = new Set(); }
  getBoundingClientRect() { return { left: 0, top: 0, width: W, height: H }; }
  focus() {}
  setPointerCapture(id) { this.captured.add(id); }
  hasPointerCapture(id) { return this.captured.has(id); }
  releasePointerCapture(id) { this.captured.delete(id); }
}

function editorAt(pose) {
  return {
    K, width: W, height: H, pose: clonePose(pose), previews: 0, commits: 0,
    getPose() { return clonePose(this.pose); },
    preview(p) { this.pose = clonePose(p); this.previews += 1; },
    commit() { this.commits += 1; },
  };
}

function setup(pose = { R: IDENTITY, t: [20, -10, 800] }) {
  const canvas = new FakeCanvas();
  const editor = editorAt(pose);
  attachPointer(canvas, editor);
  return { canvas, editor };
}

/** Press at pixel `from`, move to `to` in `steps`, release. */
function drag(canvas, from, to, { button = 0, shiftKey = false, steps = 10 } = {}) {
  const at = ([u, v]) => ({ clientX: u + 0.5, clientY: v + 0.5, pointerId: 1, button, shiftKey });
  canvas.fire('pointerdown', at(from));
  for (let i = 1; i <= steps; i++) canvas.fire('pointermove', at([from[0] + (to[0] - from[0]) * i / steps, from[1] + (to[1] - from[1]) * i / steps]));
  canvas.fire('pointerup', at(to));
}

const seen = (pose, X) => projectPoint(K, apply(pose.R, X).map((v, i) => v + pose.t[i]));

describe('pointer', () => {
  test('shift-drag and right-drag move the head with the pointer, at its depth', () => {
    for (const options of [{ shiftKey: true }, { button: 2 }]) {
      const { canvas, editor } = setup();
      const before = editor.getPose();
      const origin = projectPoint(K, before.t);
      drag(canvas, [100, 100], [140, 75], options);
      assertClose(projectPoint(K, editor.pose.t), [origin[0] + 40, origin[1] - 25], 1e-9);
      assert.equal(editor.pose.t[2], before.t[2]);
      assert.deepEqual(editor.pose.R, before.R);
      assert.equal(editor.commits, 1, 'one undo step per drag');
      assert.equal(editor.previews, 10);
      assert.equal(canvas.captured.size, 0, 'the pointer is released');
    }
  });

  test('dragging from the head turns it the way the pointer goes (the nose follows)', () => {
    const nose = [0, 0, -100];
    for (const [dx, dy, angle] of [[60, 0, 0], [-60, 0, 0], [0, 60, 1], [0, -60, 1]]) {
      const { canvas, editor } = setup();
      const start = projectPoint(K, editor.pose.t);
      const noseBefore = seen(editor.pose, nose);
      drag(canvas, start, [start[0] + dx, start[1] + dy]);
      const euler = matrixToEuler(editor.pose.R);
      const noseAfter = seen(editor.pose, nose);
      assert.ok(isRotation(editor.pose.R, 1e-12));
      assert.deepEqual(editor.pose.t, [20, -10, 800]);
      // +yaw turns the face to image-left, +pitch lifts the chin
      const turn = angle === 0 ? -Math.sign(dx) : -Math.sign(dy);
      assert.ok(Math.sign(euler[angle]) === turn && Math.abs(euler[angle]) > 5, `drag ${dx},${dy}: ${euler}`);
      assert.ok(Math.abs(euler[1 - angle]) < 1e-9 && Math.abs(euler[2]) < 1e-9, `only one angle moves: ${euler}`);
      assert.ok(Math.sign(noseAfter[0] - noseBefore[0]) === Math.sign(dx) || dx === 0);
      assert.ok(Math.sign(noseAfter[1] - noseBefore[1]) === Math.sign(dy) || dy === 0);
      assert.equal(editor.commits, 1);
    }
  });

  test('a click without moving changes nothing; the middle button is not ours', () => {
    const { canvas, editor } = setup();
    drag(canvas, [200, 200], [200, 200], { steps: 0 });
    drag(canvas, [200, 200], [260, 260], { button: 1 });
    assert.equal(editor.previews, 0);
    assert.equal(editor.commits, 0);
    assert.ok(canvas.fire('contextmenu').defaultPrevented, 'right-drag does not open the menu');
  });

  test('Ctrl/Alt-drag moves the head along its ray: up farther, down nearer, one undo step', () => {
    for (const mods of [{ ctrlKey: true }, { altKey: true }]) {
      const { canvas, editor } = setup();
      const before = editor.getPose();
      const at = ([u, v]) => ({ clientX: u + 0.5, clientY: v + 0.5, pointerId: 1, button: 0, ...mods });
      canvas.fire('pointerdown', at([200, 200]));
      canvas.fire('pointermove', at([230, 180])); // 20 px up (the sideways part does nothing)
      assertClose(editor.pose.t, before.t.map((v) => v * Math.exp(20 * 0.005)), 1e-9);
      assertClose(projectPoint(K, editor.pose.t), projectPoint(K, before.t), 1e-9);
      assert.deepEqual(editor.pose.R, before.R);
      canvas.fire('pointermove', at([230, 260])); // 60 px down from there: nearer than at the start
      canvas.fire('pointerup', at([230, 260]));
      assert.ok(editor.pose.t[2] < before.t[2]);
      assert.equal(editor.commits, 1);
    }
  });

  test('a depth drag stops at the depth limits the page config gives, along the ray', () => {
    const { canvas, editor } = setup({ R: IDENTITY, t: [20, -10, 220] });
    editor.depthLimits = { safe_depth_mm: 204, max_depth_mm: 10000 };
    const before = editor.getPose();
    const at = (v) => ({ clientX: 100.5, clientY: v + 0.5, pointerId: 1, button: 0, altKey: true });
    canvas.fire('pointerdown', at(100));
    canvas.fire('pointermove', at(400)); // far nearer than the limit
    assertClose(editor.pose.t, before.t.map((v) => v * 204 / 220), 1e-9);
    canvas.fire('pointerup', at(400));
  });

  test('the wheel is not the pose\'s: no listener, the pose stays', () => {
    const { canvas, editor } = setup();
    const event = canvas.fire('wheel', { deltaY: 100 });
    assert.ok(!event.defaultPrevented);
    assert.equal(editor.previews, 0);
    assert.equal(canvas.listeners.wheel, undefined);
  });
});

describe('clampDepth', () => {
  const limits = { safe_depth_mm: 204, max_depth_mm: 5000 };
  test('never nearer than the safe depth, never farther than the depth limit', () => {
    assert.equal(clampDepth(300, 150, limits), 204);
    assert.equal(clampDepth(300, 250, limits), 250);
    assert.equal(clampDepth(4000, 6000, limits), 5000);
    assert.equal(clampDepth(4000, 4500, limits), 4500);
  });
  test('a head already nearer (a close-up the server allows) stays, may go farther, never nearer', () => {
    assert.equal(clampDepth(120, 100, limits), 120);
    assert.equal(clampDepth(120, 130, limits), 130);
    assert.equal(clampDepth(120, 300, limits), 300);
  });
  test('a head already farther may come nearer, never farther', () => {
    assert.equal(clampDepth(7000, 8000, limits), 7000);
    assert.equal(clampDepth(7000, 6000, limits), 6000);
  });
  test('without limits (or without a depth to start from) the move is free', () => {
    assert.equal(clampDepth(300, 10, null), 10);
    assert.equal(clampDepth(0, 10, limits), 10);
    assert.equal(clampDepth(-5, -10, limits), -10);
  });
});

describe('keyboard', () => {
  function keys({ dialogOpen = false, keymap = null } = {}) {
    const doc = new FakeTarget();
    doc.querySelector = (selector) => (selector === 'dialog[open]' && dialogOpen ? {} : null);
    globalThis.document = doc;
    const calls = [];
    const editor = {
      steps: { angle_fine: 1, angle_coarse: 5, move_fine: 2, move_coarse: 10 },
      nudgeEuler: (axis, degrees) => calls.push(['euler', axis, degrees]),
      nudgeT: (axis, mm) => calls.push(['t', axis, mm]),
    };
    const actions = new Proxy({}, { get: (_, name) => (...args) => calls.push([name, ...args]) });
    if (keymap) editor.keymap = keymap;
    attachKeyboard(editor, actions);
    const press = (key, mods = {}, target = { tagName: 'CANVAS' }) => doc.fire('keydown', { key, target, ...mods });
    return { calls, press };
  }

  test('arrows turn the head the way they point; shift takes the coarse step', () => {
    const { calls, press } = keys();
    press('ArrowLeft');
    press('ArrowRight', { shiftKey: true });
    press('ArrowUp');
    press('ArrowDown');
    press('q');
    press('E', { shiftKey: true });
    // +yaw: the face turns to image-left; +pitch: chin up; +roll: top of the head to image-right
    assert.deepEqual(calls, [['euler', 0, 1], ['euler', 0, -5], ['euler', 1, 1], ['euler', 1, -1], ['euler', 2, -1], ['euler', 2, 5]]);
  });

  test('j l i k u o move the head (mm); the rest are named actions', () => {
    const { calls, press } = keys();
    for (const k of ['j', 'l', 'i', 'k', 'u', 'o']) press(k);
    press('L', { shiftKey: true });
    assert.deepEqual(calls, [['t', 0, -2], ['t', 0, 2], ['t', 1, -2], ['t', 1, 2], ['t', 2, -2], ['t', 2, 2], ['t', 0, 10]]);
    calls.length = 0;
    for (const k of ['r', 'a', 's', 'Enter', 'n', 'f', 'w', 'v', 'm', '[', ']']) press(k);
    press('z', { ctrlKey: true });
    press('y', { ctrlKey: true });
    press('Z', { metaKey: true, shiftKey: true });
    assert.deepEqual(calls, [['reset'], ['accept'], ['save'], ['save'], ['skip'], ['flag'], ['toggle', 'wireframe'],
      ['toggle', 'axes'], ['toggle', 'landmarks'], ['opacity', -0.1], ['opacity', 0.1], ['undo'], ['redo'], ['redo']]);
  });

  test('handled keys are consumed; others, modified keys, typing and open dialogs are left alone', () => {
    const { calls, press } = keys();
    assert.ok(press('a').defaultPrevented);
    assert.ok(!press('x').defaultPrevented);
    assert.ok(!press('s', { ctrlKey: true }).defaultPrevented, 'Ctrl+S stays the browser\'s');
    assert.ok(!press('a', { altKey: true }).defaultPrevented);
    press('a', {}, { tagName: 'INPUT', type: 'number' });
    press('a', {}, { tagName: 'TEXTAREA' });
    press('a', {}, { tagName: 'DIV', isContentEditable: true });
    assert.deepEqual(calls, [['accept']]);
    press('w', {}, { tagName: 'INPUT', type: 'checkbox' }); // a focused checkbox is not typing
    assert.deepEqual(calls.at(-1), ['toggle', 'wireframe']);
    const withDialog = keys({ dialogOpen: true });
    withDialog.press('a');
    assert.deepEqual(withDialog.calls, []);
  });

  test("other parts' keys are left to them: the review's, the landmark tool's, the zoom's, help", () => {
    const { calls, press } = keys();
    for (const k of ['g', 'd', 'c', 'x', 'p', 'h', '+', '0', '?', 't', ',']) assert.ok(!press(k).defaultPrevented, k);
    assert.deepEqual(calls, []);
  });

  test("the user's own map: a remapped key does the action, the old key nothing", () => {
    const { calls, press } = keys({ keymap: new Keymap('label', { yawLeft: 'b', accept: 'Shift+a' }) });
    press('b');
    press('B', { shiftKey: true }); // a coarse action keeps Shift for the coarse step
    press('ArrowLeft');
    press('a');
    press('A', { shiftKey: true });
    assert.deepEqual(calls, [['euler', 0, 1], ['euler', 0, 5], ['accept']]);
  });
});
