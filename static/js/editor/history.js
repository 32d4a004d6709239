// Undo/redo of poses. Each committed change (a drag, a nudge, a typed value,
// a reset) is one step.
import { clonePose, posesEqual } from './pose.js';

export class PoseHistory {
  constructor(initial, limit = 500) {
    this.stack = [clonePose(initial)];
    this.index = 0;
    this.limit = limit;
  }

  get current() { return clonePose(this.stack[this.index]); }
  get canUndo() { return this.index > 0; }
  get canRedo() { return this.index < this.stack.length - 1; }

  push(pose) {
    if (posesEqual(pose, this.stack[this.index], 0)) return false;
    this.stack.splice(this.index + 1);
    this.stack.push(clonePose(pose));
    if (this.stack.length > this.limit) this.stack.shift();
    this.index = this.stack.length - 1;
    return true;
  }

  undo() { if (this.canUndo) this.index -= 1; return this.current; }
  redo() { if (this.canRedo) this.index += 1; return this.current; }
}
