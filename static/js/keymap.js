// One keymap for the whole product: every keyboard action of the labeling,
// review and timeline pages, its default keys and what it does. A key means one
// thing everywhere: no two actions share a key, on any page (checkOverrides and
// tests/js/keymap.test.mjs). Pure (no DOM): the pages read their keys through a
// Keymap (resolve(event) -> action); static/js/editor/help.js shows it on "?".
//
// A key is written as the pages compare it (eventKey): modifiers first, in the
// order Ctrl+ (Cmd on a Mac) Alt+ Shift+, then a lower-case letter, another
// printed character ('[', '?', '<': Shift is part of those, never written), or a
// named key (ArrowLeft, Enter, Space, Delete, ...). "coarse" actions take the
// coarse step with Shift (Shift+ArrowLeft turns 5° instead of 1°), so Shift+
// their key is theirs too.
//
// A user's own map ({action: key}, annotator.accounts.models.UserSettings.keymap,
// /api/label/keymap/) replaces an action's default keys with one key. The server
// checks it by the same rules (annotator/accounts/keymap.py, kept equal to this
// table by tests/api/test_keymap_api.py).

export const PAGES = { label: 'Labeling', review: 'Review', timeline: 'Timeline' };

const EDIT = ['label', 'review']; // the pages that decide on a face or a label
const ALL = ['label', 'review', 'timeline'];
const PINS = ['label', 'timeline']; // the pages with the landmark tool (the timeline: the frame edited in place)
const POSE = ALL; // the pages that edit a pose with the keys (the timeline: the shown frame's, then S keeps it)

/** Every action: id, default keys, pages, group, what it does (per page where it differs).
 * fixed: not remappable. */
export const ACTIONS = [
  // the pose
  { id: 'yawLeft', keys: ['ArrowLeft'], pages: POSE, group: 'Pose', coarse: true, text: 'turn the face to image-left (yaw)' },
  { id: 'yawRight', keys: ['ArrowRight'], pages: POSE, group: 'Pose', coarse: true, text: 'turn the face to image-right (yaw)' },
  { id: 'pitchUp', keys: ['ArrowUp'], pages: POSE, group: 'Pose', coarse: true, text: 'chin up (pitch)' },
  { id: 'pitchDown', keys: ['ArrowDown'], pages: POSE, group: 'Pose', coarse: true, text: 'chin down (pitch)' },
  { id: 'rollLeft', keys: ['q'], pages: POSE, group: 'Pose', coarse: true, text: 'tilt the head to image-left (roll)' },
  { id: 'rollRight', keys: ['e'], pages: POSE, group: 'Pose', coarse: true, text: 'tilt the head to image-right (roll)' },
  { id: 'moveLeft', keys: ['j'], pages: POSE, group: 'Pose', coarse: true, text: 'move left (x)' },
  { id: 'moveRight', keys: ['l'], pages: POSE, group: 'Pose', coarse: true, text: 'move right (x)' },
  { id: 'moveUp', keys: ['i'], pages: POSE, group: 'Pose', coarse: true, text: 'move up (y)' },
  { id: 'moveDown', keys: ['k'], pages: POSE, group: 'Pose', coarse: true, text: 'move down (y)' },
  { id: 'nearer', keys: ['u'], pages: POSE, group: 'Pose', coarse: true, text: 'nearer (depth)' },
  { id: 'farther', keys: ['o'], pages: POSE, group: 'Pose', coarse: true, text: 'farther (depth)' },
  { id: 'undo', keys: ['Ctrl+z'], pages: POSE, group: 'Pose', text: 'undo' },
  { id: 'redo', keys: ['Ctrl+y', 'Ctrl+Shift+z'], pages: POSE, group: 'Pose', text: 'redo' },
  {
    id: 'reset', keys: ['r'], pages: POSE, group: 'Pose',
    text: {
      label: 'reset to the starting proposal',
      review: "back to the label's pose (leave the correction)",
      timeline: "back to this frame's label (leave the edit)",
    },
  },
  // the face or the label
  {
    id: 'accept', keys: ['a'], pages: EDIT, group: 'Decide',
    text: { label: 'accept and go to the next face', review: 'approve the label and go to the next' },
  },
  {
    id: 'save', keys: ['s', 'Enter'], pages: ALL, group: 'Decide',
    text: {
      label: 'save (corrected) and go to the next face',
      review: 'save the correction and go to the next',
      timeline: "make this frame a keyframe (save the shown pose)",
    },
  },
  {
    id: 'skip', keys: ['n'], pages: EDIT, group: 'Decide',
    text: { label: 'skip this face', review: 'next: leave this label for later' },
  },
  { id: 'flag', keys: ['f'], pages: ['label'], group: 'Decide', text: 'flag… (no face, occluded, …)' },
  { id: 'reject', keys: ['d'], pages: ['review'], group: 'Decide', text: 'reject… (reason 1–4, a note) and go to the next' },
  { id: 'correct', keys: ['c'], pages: ['review'], group: 'Decide', text: 'correct: edit the pose (a drag or a nudge does it too)' },
  // the view
  { id: 'wireframe', keys: ['w'], pages: EDIT, group: 'View', text: 'wireframe on / off' },
  { id: 'axes', keys: ['v'], pages: ['label'], group: 'View', text: "the head's axes on / off" },
  { id: 'landmarks', keys: ['m'], pages: EDIT, group: 'View', text: "the face's landmarks on / off" },
  {
    id: 'ghosts', keys: ['g'], pages: EDIT, group: 'View',
    text: { label: "the proposals' outlines on / off (the review's ghosts)", review: 'ghosts: all → each one → none' },
  },
  { id: 'features', keys: ['y'], pages: PINS, group: 'View', text: 'feature lines on / off (eyes, brows, nose, lips, jaw at the pose)' },
  { id: 'opacityDown', keys: ['['], pages: EDIT, group: 'View', text: 'head more transparent' },
  { id: 'opacityUp', keys: [']'], pages: EDIT, group: 'View', text: 'head more opaque' },
  { id: 'zoomIn', keys: ['+', '='], pages: ALL, group: 'View', text: 'zoom in (the wheel, a pinch: at the pointer)' },
  { id: 'zoomOut', keys: ['-'], pages: ALL, group: 'View', text: 'zoom out' },
  { id: 'zoomOneToOne', keys: ['1'], pages: ALL, group: 'View', text: 'zoom 1:1 (one image pixel per screen pixel)' },
  { id: 'zoomFit', keys: ['0'], pages: ALL, group: 'View', text: 'zoom to fit' },
  // the landmark tool
  { id: 'handles', keys: ['h'], pages: PINS, group: 'Landmarks', text: 'landmark handles on / off (then drag one to pin it)' },
  { id: 'snap', keys: ['x'], pages: PINS, group: 'Landmarks', text: "snap to the face's landmarks" },
  { id: 'unpinAll', keys: ['Shift+x'], pages: PINS, group: 'Landmarks', text: 'unpin all landmarks' },
  { id: 'nextProposal', keys: ['p'], pages: PINS, group: 'Landmarks', text: 'start from the next proposal' },
  { id: 'previousProposal', keys: ['Shift+p'], pages: PINS, group: 'Landmarks', text: 'start from the previous proposal' },
  // the timeline
  { id: 'previousFrame', keys: [','], pages: ['timeline'], group: 'Timeline', text: 'previous frame' },
  { id: 'nextFrame', keys: ['.'], pages: ['timeline'], group: 'Timeline', text: 'next frame' },
  { id: 'back10', keys: ['<'], pages: ['timeline'], group: 'Timeline', text: '10 frames back' },
  { id: 'forward10', keys: ['>'], pages: ['timeline'], group: 'Timeline', text: '10 frames on' },
  { id: 'play', keys: ['Space'], pages: ['timeline'], group: 'Timeline', text: 'play / pause' },
  { id: 'deleteKeyframe', keys: ['Delete', 'Backspace'], pages: ['timeline'], group: 'Timeline', text: "delete this frame's keyframe" },
  { id: 'nextSpike', keys: ['t'], pages: ['timeline'], group: 'Timeline', text: 'jump to the next spike (the track turning too fast)' },
  // always
  { id: 'help', keys: ['?'], pages: ALL, group: 'Help', fixed: true, text: 'these shortcuts (Esc closes)' },
  { id: 'escape', keys: ['Escape'], pages: ALL, group: 'Help', fixed: true, text: { label: 'close a dialog', review: 'close a dialog; leave the correction', timeline: 'close a dialog' } },
];

/** What a mouse or trackpad does on the editor pages (not remappable). */
export const POINTER = {
  label: [
    ['drag', 'turn the head'], ['Shift+drag, right-drag', 'move the head (x, y)'],
    ['Ctrl+drag or Alt+drag up / down', 'farther / nearer (depth)'], ['wheel, pinch', 'zoom at the pointer'],
    ['middle-drag', 'pan'], ['drag a landmark handle', 'pin it there (double-click: unpin)'],
  ],
  review: [
    ['drag', 'turn the head (starts a correction)'], ['Shift+drag, right-drag', 'move the head (x, y)'],
    ['Ctrl+drag or Alt+drag up / down', 'farther / nearer (depth)'], ['wheel, pinch', 'zoom at the pointer'],
    ['middle-drag', 'pan'],
  ],
  timeline: [
    ['drag', 'turn the head'], ['Shift+drag, right-drag', 'move the head (x, y)'],
    ['Ctrl+drag or Alt+drag up / down', 'farther / nearer (depth)'], ['wheel, pinch', 'zoom at the pointer'],
    ['middle-drag', 'pan'], ['click the timeline', 'go to that frame'],
  ],
};

const BY_ID = new Map(ACTIONS.map((a) => [a.id, a]));
const NAMED = new Set([
  'ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Enter', 'Space', 'Delete', 'Backspace', 'Escape', 'Tab',
  'Home', 'End', 'PageUp', 'PageDown', 'Insert', ...Array.from({ length: 12 }, (_, i) => `F${i + 1}`),
]);
const MODIFIERS = new Set(['Shift', 'Control', 'Alt', 'Meta', 'AltGraph', 'CapsLock', 'OS']);
/** Keys no action may take: they close dialogs and move the focus. */
export const RESERVED = new Set(['Escape', 'Tab', 'Shift+Tab', '?']);
const KEY = /^(Ctrl\+)?(Alt\+)?(Shift\+)?(.+)$/;

/** The key of a keydown event ({key, ctrlKey, altKey, shiftKey, metaKey}) as this map writes it; null for a modifier alone. */
export function eventKey({ key, ctrlKey = false, altKey = false, shiftKey = false, metaKey = false }) {
  if (!key || MODIFIERS.has(key) || key === 'Unidentified' || key === 'Dead') return null;
  let base = key === ' ' ? 'Space' : key;
  const letter = base.length === 1 && /[a-z]/i.test(base);
  if (letter) base = base.toLowerCase();
  const shift = shiftKey && (letter || base.length > 1);
  return `${ctrlKey || metaKey ? 'Ctrl+' : ''}${altKey ? 'Alt+' : ''}${shift ? 'Shift+' : ''}${base}`;
}

/** Why `key` is not a key this map can hold, or '' when it is one. */
export function keyProblem(key) {
  if (typeof key !== 'string' || !key) return 'a key is a non-empty string';
  if (key.length > 40) return 'a key is at most 40 characters';
  const m = KEY.exec(key);
  const [, , , shift, base] = m;
  if (base.length === 1) {
    if (/\s/.test(base) || base.charCodeAt(0) < 33) return `'${key}' is not a key`;
    if (/[A-Z]/.test(base)) return `'${key}': letters are written lower case (Shift+${base.toLowerCase()} for the capital)`;
    if (shift && !/[a-z]/.test(base)) return `'${key}': Shift is part of '${base}' (write the character Shift gives)`;
    return '';
  }
  return NAMED.has(base) ? '' : `'${key}' is not a key`;
}

/** Shift+ `key`, when Shift can go with it (a letter, a named key) and it has none; else null. */
function shifted(key) {
  const [, ctrl = '', alt = '', shift, base] = KEY.exec(key);
  return !shift && (/^[a-z]$/.test(base) || base.length > 1) ? `${ctrl}${alt}Shift+${base}` : null;
}

/** Every key an action takes with `keys` bound (a coarse action also takes Shift+ its keys). */
function takenKeys(action, keys) {
  return action.coarse ? [...keys, ...keys.map(shifted).filter(Boolean)] : keys;
}

/** Each action's keys: the defaults, with a user's {action: key} in place of theirs. */
export function effectiveKeys(overrides = {}) {
  return new Map(ACTIONS.map((a) => [a.id, Object.hasOwn(overrides, a.id) ? [overrides[a.id]] : a.keys.slice()]));
}

/** What is wrong with a user's map ({action: key}), in words; [] when nothing is. */
export function checkOverrides(overrides) {
  if (!overrides || typeof overrides !== 'object' || Array.isArray(overrides)) return ['the keymap is an object {action: key}'];
  const problems = [];
  for (const [id, key] of Object.entries(overrides)) {
    const action = BY_ID.get(id);
    if (!action) { problems.push(`unknown action '${id}'`); continue; }
    if (action.fixed) { problems.push(`'${id}' keeps its key (${action.keys.join(', ')})`); continue; }
    const why = keyProblem(key);
    if (why) { problems.push(`${id}: ${why}`); continue; }
    if (RESERVED.has(key)) problems.push(`${id}: '${key}' is kept for closing dialogs, help and moving the focus`);
  }
  if (problems.length) return problems;
  const owner = new Map();
  for (const [id, keys] of effectiveKeys(overrides)) {
    for (const k of takenKeys(BY_ID.get(id), keys)) {
      if (owner.has(k) && owner.get(k) !== id) problems.push(`'${k}' would be both ${owner.get(k)} and ${id}`);
      else owner.set(k, id);
    }
  }
  return problems;
}

/** How a key is shown: ← for ArrowLeft, Ctrl+Z, Space, [. */
export function keyLabel(key) {
  const arrows = { ArrowLeft: '←', ArrowRight: '→', ArrowUp: '↑', ArrowDown: '↓', Escape: 'Esc', Delete: 'Del' };
  const m = KEY.exec(key);
  const base = arrows[m[4]] || (m[4].length === 1 ? m[4].toUpperCase() : m[4]);
  return `${m[1] || ''}${m[2] || ''}${m[3] || ''}${base}`;
}

/** What `action` does on `page`. */
export function actionText(action, page) {
  return typeof action.text === 'string' ? action.text : action.text[page] || Object.values(action.text)[0];
}

/** One page's keys: the defaults with a user's own map ({action: key}) on top. */
export class Keymap {
  constructor(page = 'label', overrides = {}) {
    this.page = Object.hasOwn(PAGES, page) ? page : 'label';
    this.set(overrides);
  }

  /** Use a user's map (throws Error with the reasons when it is not a valid one). */
  set(overrides = {}) {
    const problems = checkOverrides(overrides);
    if (problems.length) throw new Error(problems.join('; '));
    this.overrides = { ...overrides };
    this.keys = effectiveKeys(this.overrides);
    this.byKey = new Map();
    for (const [id, keys] of this.keys) for (const k of keys) this.byKey.set(k, BY_ID.get(id));
  }

  /** The actions of this page, in the table's order. */
  actions() { return ACTIONS.filter((a) => a.pages.includes(this.page)); }

  /** The action this page gives a key event: {action, coarse} or null. */
  resolve(event) {
    const key = eventKey(event);
    if (!key) return null;
    const here = (a) => a && a.pages.includes(this.page);
    const action = this.byKey.get(key);
    if (action) return here(action) ? { action: action.id, coarse: false } : null;
    if (key.includes('Shift+')) {
      const base = this.byKey.get(key.replace('Shift+', ''));
      if (base && base.coarse && here(base)) return { action: base.id, coarse: true };
    }
    return null;
  }

  /** How the keys of `id` are shown ('S / Enter'). */
  label(id) { return (this.keys.get(id) || []).map(keyLabel).join(' / '); }
}
