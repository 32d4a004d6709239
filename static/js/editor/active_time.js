// Time spent on a label: seconds the page was visible and in use, counted once
// a second. "In use" means some input (pointer, key, wheel) within the last two
// minutes, so a tab left open over lunch does not count.

export const IDLE_MS = 120000;

export class ActiveTime {
  /** now(): milliseconds (performance.now); isVisible(): whether the page shows. */
  constructor({ now, isVisible, idleMs = IDLE_MS }) {
    this.now = now;
    this.isVisible = isVisible;
    this.idleMs = idleMs;
    this.lastInput = now();
    this.seconds = 0;
  }

  input() { this.lastInput = this.now(); }

  /** Called once a second (start() arranges it). */
  tick() {
    if (this.isVisible() && this.now() - this.lastInput < this.idleMs) this.seconds += 1;
  }

  start(setIntervalImpl) { return setIntervalImpl(() => this.tick(), 1000); }

  /** The seconds not yet recorded; they count as recorded from now on. */
  take() {
    const spent = this.seconds;
    this.seconds = 0;
    return spent;
  }

  /** A save that took `spent` failed: count those seconds with the next one. */
  giveBack(spent) { this.seconds += spent; }
}
