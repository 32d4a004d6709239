// Which ghost heads the review page shows. G steps through: every ghost, then
// each one alone, then none, then every ghost again.

export class GhostCycle {
  /** keys: the ghosts' keys, in the order the page lists them. */
  constructor(keys) {
    this.keys = keys.slice();
    const each = keys.length > 1 ? keys.map((k) => [k]) : []; // one ghost alone is "all"
    this.states = [this.keys, ...each, []];
    this.cycleLength = this.states.length;
    this.step = 0;
  }

  get visible() { return new Set(this.states[this.step]); }

  /** Advance and return the keys now visible. */
  next() {
    this.step = (this.step + 1) % this.states.length;
    return this.visible;
  }

  /** The checkboxes were changed by hand: show exactly `keys`, and carry on from there. */
  setVisible(keys) {
    const wanted = this.keys.filter((k) => keys.includes(k));
    this.states.length = this.cycleLength; // forget an earlier mix
    const i = this.states.findIndex((s) => s.length === wanted.length && s.every((k, j) => k === wanted[j]));
    if (i >= 0) this.step = i;
    else { this.states.push(wanted); this.step = this.cycleLength; } // a mix: G moves on to "all"
    return this.visible;
  }
}

// Colours of the ghosts (the label under review keeps the editor's sky blue).
export const GHOST_COLORS = { proposal: 0xfacc15, annotator: [0xf97316, 0xa855f7, 0x22c55e, 0xec4899, 0x14b8a6] };

/** {key: colour} for the poses of the review state (the label itself left out). */
export function ghostColors(poses) {
  const colors = {};
  let n = 0;
  for (const p of poses) {
    if (p.kind === 'proposal') colors[p.key] = GHOST_COLORS.proposal;
    else if (p.kind === 'annotator') colors[p.key] = GHOST_COLORS.annotator[n++ % GHOST_COLORS.annotator.length];
  }
  return colors;
}
