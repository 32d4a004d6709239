// static/js/keymap.js: one keymap for the labeling, review and timeline pages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ACTIONS, Keymap, PAGES, POINTER, actionText, checkOverrides, effectiveKeys, eventKey, keyLabel, keyProblem,
} from '../../static/js/keymap.js';

describe('the default map', () => {
  test('is valid: every key well-formed, no key (or Shift+ a coarse key) on two actions, on any page', () => {
    assert.deepEqual(checkOverrides({}), []);
    const owner = new Map();
    for (const a of ACTIONS) {
      for (const k of a.keys) {
        assert.equal(keyProblem(k), '', k);
        assert.ok(!owner.has(k), `${k}: ${owner.get(k)} and ${a.id}`);
        owner.set(k, a.id);
      }
    }
  });

  test('each page resolves every key to one action, and every action of the page has a key and a text', () => {
    for (const page of Object.keys(PAGES)) {
      const km = new Keymap(page);
      for (const a of km.actions()) {
        assert.ok(a.keys.length > 0 && actionText(a, page), `${page} ${a.id}`);
        for (const k of km.keys.get(a.id)) {
          const [mods, base] = [k.slice(0, k.lastIndexOf('+') + 1 || 0), k.slice(k.lastIndexOf('+') + 1) || '+'];
          const event = {
            key: base === 'Space' ? ' ' : base, ctrlKey: mods.includes('Ctrl+'), altKey: mods.includes('Alt+'),
            shiftKey: mods.includes('Shift+'),
          };
          assert.deepEqual(km.resolve(event), { action: a.id, coarse: false }, `${page} ${k}`);
        }
      }
      assert.ok(POINTER[page].length > 0);
    }
  });

  test('the keys the issue named: A accepts everywhere, R resets, C corrects, G ghosts, K and J move the head', () => {
    const [label, review, timeline] = ['label', 'review', 'timeline'].map((p) => new Keymap(p));
    const on = (km, key, mods = {}) => km.resolve({ key, ...mods })?.action ?? null;
    assert.equal(on(label, 'a'), 'accept');
    assert.equal(on(review, 'a'), 'accept');
    assert.equal(on(label, 'r'), 'reset');
    assert.equal(on(review, 'r'), 'reset');
    assert.equal(on(review, 'd'), 'reject');
    assert.equal(on(review, 'c'), 'correct');
    assert.equal(on(label, 'c'), null); // never unpin-all any more: Shift+X
    assert.equal(on(label, 'X', { shiftKey: true }), 'unpinAll');
    assert.equal(on(review, 'g'), 'ghosts');
    assert.equal(on(label, 'g'), 'ghosts'); // the proposals' outlines there (issue 26 item 10)
    assert.equal(on(label, 'y'), 'features');
    assert.equal(on(label, 'v'), 'axes');
    assert.equal(on(label, 'k'), 'moveDown');
    assert.equal(on(label, 'j'), 'moveLeft');
    assert.equal(on(timeline, 'k'), 'moveDown'); // a key means one thing: the keyframe is the timeline's save, S / Enter
    assert.equal(on(timeline, 's'), 'save');
    assert.equal(on(timeline, 'Enter'), 'save');
    assert.equal(on(timeline, 't'), 'nextSpike');
    assert.equal(on(timeline, ' '), 'play');
    assert.equal(on(timeline, '<', { shiftKey: true }), 'back10');
    assert.equal(on(timeline, 'ArrowLeft'), 'yawLeft'); // the arrows turn the head, on every page
    assert.equal(on(timeline, 'r'), 'reset');
    for (const km of [label, review, timeline]) assert.equal(on(km, '?', { shiftKey: true }), 'help');
  });

  test('coarse actions take Shift for the coarse step; others do not', () => {
    const km = new Keymap('label');
    assert.deepEqual(km.resolve({ key: 'ArrowLeft', shiftKey: true }), { action: 'yawLeft', coarse: true });
    assert.deepEqual(km.resolve({ key: 'L', shiftKey: true }), { action: 'moveRight', coarse: true });
    assert.equal(km.resolve({ key: 'A', shiftKey: true }), null);
    assert.deepEqual(km.resolve({ key: 'P', shiftKey: true }), { action: 'previousProposal', coarse: false });
  });
});

describe('keys of events', () => {
  test('letters lower case with Shift+, printed characters as printed, Cmd as Ctrl, modifiers alone nothing', () => {
    assert.equal(eventKey({ key: 'K', shiftKey: true }), 'Shift+k');
    assert.equal(eventKey({ key: '?', shiftKey: true }), '?');
    assert.equal(eventKey({ key: 'z', metaKey: true, shiftKey: true }), 'Ctrl+Shift+z');
    assert.equal(eventKey({ key: ' ' }), 'Space');
    assert.equal(eventKey({ key: 'ArrowUp', shiftKey: true }), 'Shift+ArrowUp');
    assert.equal(eventKey({ key: 'Shift', shiftKey: true }), null);
  });

  test('labels', () => {
    assert.deepEqual(['ArrowLeft', 'Ctrl+z', 'Shift+x', '[', 'Space', 'Escape'].map(keyLabel),
      ['←', 'Ctrl+Z', 'Shift+X', '[', 'Space', 'Esc']);
    assert.equal(new Keymap('label').label('save'), 'S / Enter');
  });
});

describe("a user's own map", () => {
  test('replaces the default keys of the actions it names', () => {
    const km = new Keymap('label', { accept: 'b' });
    assert.deepEqual(km.resolve({ key: 'b' }), { action: 'accept', coarse: false });
    assert.equal(km.resolve({ key: 'a' }), null);
    assert.deepEqual(effectiveKeys({ save: 'Ctrl+Enter' }).get('save'), ['Ctrl+Enter']);
  });

  test('two actions on one key are refused, saying which; a swap in one map is fine', () => {
    assert.deepEqual(checkOverrides({ reset: 'g' }), ["'g' would be both reset and ghosts"]);
    assert.deepEqual(checkOverrides({ moveDown: 'Shift+q' }), ["'Shift+q' would be both rollLeft and moveDown"]);
    assert.deepEqual(checkOverrides({ reset: 'g', ghosts: 'r' }), []);
    assert.throws(() => new Keymap('review', { reject: 'a' }), /'a' would be both accept and reject/);
  });

  test('unknown actions, malformed keys, fixed actions and reserved keys are refused with the reason', () => {
    assert.deepEqual(checkOverrides({ launch: 'b' }), ["unknown action 'launch'"]);
    assert.match(checkOverrides({ accept: 'B' })[0], /lower case/);
    assert.match(checkOverrides({ accept: 'Shift+1' })[0], /Shift is part of/);
    assert.match(checkOverrides({ accept: 'Hyper+a' })[0], /not a key/);
    assert.match(checkOverrides({ accept: '' })[0], /non-empty/);
    assert.match(checkOverrides({ accept: 3 })[0], /non-empty string/);
    assert.match(checkOverrides({ help: 'h' })[0], /keeps its key/);
    assert.match(checkOverrides({ accept: 'Escape' })[0], /kept for/);
    assert.match(checkOverrides({ accept: '?' })[0], /kept for/);
    assert.deepEqual(checkOverrides([]), ['the keymap is an object {action: key}']);
    assert.deepEqual(checkOverrides({ toString: 'b' }), ["unknown action 'toString'"]);
  });

  test('set() keeps the old map when the new one is refused', () => {
    const km = new Keymap('label', { accept: 'b' });
    assert.throws(() => km.set({ accept: 'w' }));
    assert.deepEqual(km.overrides, { accept: 'b' });
    km.set({});
    assert.equal(km.resolve({ key: 'a' }).action, 'accept');
  });
});
