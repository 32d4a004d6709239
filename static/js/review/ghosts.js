// Which ghost heads the review page shows. G steps through: every ghost, then
// each one alone, then none, then every ghost again.

export class GhostCycle {
  /** keys: the ghosts' keys, in the order the page lists them. */
  constructor(keys) {
    this.keys = keys.slice();
    this.step = 0; // 0: all; 1..n: keys[step - 1] alone; n + 1: none
  }

  get visible() {
    if (this.step === 0) return new Set(this.keys);
    if (this.step <= this.keys.length) return new Set([this.keys[this.step - 1]]);
    return new Set();
  }

  /** Advance and return the keys now visible. With one ghost: on, off. */
  next() {
    const states = this.keys.length <= 1 ? 2 : this.keys.length + 2;
    this.step = (this.step + 1) % states;
    if (this.keys.length === 1 && this.step === 1) this.step = 2; // "it alone" is "all"
    return this.visible;
  }

  /** The checkboxes were changed by hand: show exactly `keys` from now on. */
  setVisible(keys) {
    const shown = new Set(keys);
    if (shown.size === this.keys.length) this.step = 0;
    else if (shown.size === 0) this.step = this.keys.length + 1;
    else if (shown.size === 1) this.step = this.keys.indexOf([...shown][0]) + 1;
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
