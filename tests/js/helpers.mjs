// Shared by the editor's unit tests (node --test tests/js/).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

/** Reference values written by fixtures/make_fixtures.py (scipy, OpenCV). */
export function fixture(name) {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8'));
}

/** Every number of `actual` within `tol` of `expected` (same length). */
export function assertClose(actual, expected, tol, message = '') {
  assert.equal(actual.length, expected.length, `${message} length`);
  const worst = Math.max(...actual.map((v, i) => Math.abs(v - expected[i])));
  assert.ok(worst <= tol, `${message} off by ${worst} (> ${tol}):\n  got      ${actual}\n  expected ${expected}`);
}

/** Virtual time: setTimeout/clearTimeout/setInterval that fire only in advance(). */
export class FakeTimers {
  constructor() {
    this.now = 0;
    this.nextId = 1;
    this.pending = new Map(); // id -> {at, fn, every}
    this.setTimeout = (fn, ms = 0) => this.add(fn, ms, 0);
    this.setInterval = (fn, ms) => this.add(fn, ms, ms);
    this.clearTimeout = (id) => { this.pending.delete(id); };
  }

  add(fn, ms, every) {
    const id = this.nextId++;
    this.pending.set(id, { at: this.now + ms, fn, every });
    return id;
  }

  get count() { return this.pending.size; }

  /** Run what falls due within `ms`, in time order, letting promises settle between. */
  async advance(ms) {
    const end = this.now + ms;
    for (;;) {
      let next = null;
      for (const [id, timer] of this.pending) if (timer.at <= end && (!next || timer.at < next[1].at)) next = [id, timer];
      if (!next) break;
      const [id, timer] = next;
      this.now = timer.at;
      if (timer.every) timer.at += timer.every; else this.pending.delete(id);
      timer.fn();
      await settle();
    }
    this.now = end;
    await settle();
  }
}

/** Let every queued promise callback run. */
export function settle() { return new Promise((resolve) => setImmediate(resolve)); }

/** Just enough of an SVG document for overlay.js: elements with attributes and children. */
export class FakeElement {
  constructor(ownerDocument, namespace, tagName) {
    Object.assign(this, { ownerDocument, namespace, tagName });
    this.attributes = {};
    this.children = [];
    this.style = {};
  }

  setAttribute(name, value) { this.attributes[name] = String(value); }
  getAttribute(name) { return this.attributes[name] ?? null; }
  append(...nodes) { this.children.push(...nodes); }
  replaceChildren(...nodes) { this.children = nodes; }
}

export function fakeSvg() {
  const doc = { createElementNS: (namespace, tag) => new FakeElement(doc, namespace, tag) };
  return doc.createElementNS('http://www.w3.org/2000/svg', 'svg');
}
