// The "?" help of an editor page (labeling, review, timeline): a modal dialog
// listing every shortcut of the page with the user's own keys (static/js/keymap.js),
// and the mouse; Esc closes it. "Change" next to an action takes the next key
// pressed as its key for this user on every page (PUT /api/label/keymap/,
// checked there and here: an unknown key or one another action has is refused
// with the reason). Elements of the page marked data-keymap="action" show that
// action's keys, data-keymap-title="action" carry them in their title.
import { ACTIONS, PAGES, POINTER, actionText, checkOverrides, eventKey, keyLabel } from '../keymap.js';
import { requestJSON } from './api.js';
import { typing } from './controls.js';

const el = (doc, tag, attrs = {}, ...children) => {
  const node = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
};

/** Build the dialog and its key; returns {dialog, open(), close(), render()}. url: the keymap
 * endpoint (none: no remapping); steps: the page's step sizes (the coarse step's hint). */
export function attachHelp({ keymap, url = null, steps = null, doc = document, request = requestJSON }) {
  const dialog = el(doc, 'dialog', {
    id: 'keymap-help', class: 'keymap-help', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'keymap-help-title',
  });
  doc.body.append(dialog);
  let capturing = null; // the action whose new key the next key press is

  function showLabels() {
    doc.querySelectorAll('[data-keymap]').forEach((n) => { n.textContent = keymap.label(n.dataset.keymap); });
    doc.querySelectorAll('[data-keymap-title]').forEach((n) => { n.title = keymap.label(n.dataset.keymapTitle); });
  }

  function say(text, kind = '') {
    const line = dialog.querySelector('#keymap-status');
    line.textContent = text;
    line.dataset.kind = kind;
  }

  function row(action) {
    const keys = el(doc, 'td', { class: 'keys' });
    (keymap.keys.get(action.id) || []).forEach((k, i) => { if (i) keys.append(' '); keys.append(el(doc, 'kbd', {}, keyLabel(k))); });
    let what = actionText(action, keymap.page);
    if (action.coarse && steps) what += ` (Shift: ${action.id.match(/yaw|pitch|roll/) ? `${steps.angle_coarse}°` : `${steps.move_coarse} mm`})`;
    const cells = [keys, el(doc, 'td', {}, what)];
    if (url && !action.fixed) {
      const change = el(doc, 'button', {
        type: 'button', 'data-remap': action.id, 'aria-label': `change the key of: ${actionText(action, keymap.page)}`,
      }, 'change');
      if (capturing === action.id) { change.textContent = 'press a key…'; change.classList.add('capturing'); }
      cells.push(el(doc, 'td', { class: 'remap' }, change));
    } else {
      cells.push(el(doc, 'td', { class: 'remap' }));
    }
    return el(doc, 'tr', { 'data-action': action.id }, ...cells);
  }

  function render() {
    const groups = new Map();
    for (const a of keymap.actions()) groups.set(a.group, [...(groups.get(a.group) || []), a]);
    const tables = [...groups].map(([group, actions]) => el(doc, 'section', {},
      el(doc, 'h3', {}, group), el(doc, 'table', {}, el(doc, 'tbody', {}, ...actions.map(row)))));
    const mouse = el(doc, 'section', {}, el(doc, 'h3', {}, 'Mouse and trackpad'), el(doc, 'table', {}, el(doc, 'tbody', {},
      ...POINTER[keymap.page].map(([what, does]) => el(doc, 'tr', {}, el(doc, 'td', { class: 'keys' }, what), el(doc, 'td', {}, does))))));
    const own = Object.keys(keymap.overrides).length;
    dialog.replaceChildren(
      el(doc, 'div', { class: 'keymap-head' },
        el(doc, 'h2', { id: 'keymap-help-title' }, `Keyboard shortcuts · ${PAGES[keymap.page]}`),
        el(doc, 'button', { type: 'button', id: 'keymap-close', 'aria-label': 'Close (Esc)', autofocus: '' }, 'Close')),
      el(doc, 'p', { class: 'muted small' }, url
        ? `${own ? `Your own keys: ${own} changed. ` : ''}Change, then press the new key (Esc: keep the old one). A key means one thing on every page.`
        : 'A key means one thing on every page.'),
      el(doc, 'div', { class: 'keymap-groups' }, ...tables, mouse),
      el(doc, 'div', { class: 'keymap-foot' },
        el(doc, 'span', { id: 'keymap-status', role: 'status', 'aria-live': 'polite' }),
        ...(url && own ? [el(doc, 'button', { type: 'button', id: 'keymap-defaults' }, 'Restore the default keys')] : [])),
    );
  }

  async function store(next) {
    const problems = checkOverrides(next);
    if (problems.length) { say(problems.join('; '), 'bad'); return; }
    say('saving…', 'pending');
    try {
      const saved = await request(url, { method: 'PUT', body: { keymap: next } });
      keymap.set(saved.keymap);
      render();
      showLabels();
      say('saved: your keys apply on every page', 'ok');
    } catch (err) {
      say(`not saved: ${err.message}`, 'bad');
    }
  }

  function capture(e) {
    if (!capturing) return;
    e.preventDefault();
    e.stopPropagation();
    const id = capturing;
    if (e.key === 'Escape') { capturing = null; render(); say('unchanged'); return; }
    const key = eventKey(e);
    if (!key) return; // a modifier alone: wait for the key
    capturing = null;
    const action = ACTIONS.find((a) => a.id === id);
    const next = { ...keymap.overrides, [id]: key };
    if (action.keys.length === 1 && action.keys[0] === key) delete next[id];
    render();
    store(next);
  }

  dialog.addEventListener('keydown', capture, { capture: true });
  dialog.addEventListener('cancel', (e) => { if (capturing) e.preventDefault(); });
  dialog.addEventListener('click', (e) => {
    const target = e.target.closest('button');
    if (!target) return;
    if (target.id === 'keymap-close') close();
    else if (target.id === 'keymap-defaults') store({});
    else if (target.dataset.remap) {
      capturing = target.dataset.remap;
      render();
      dialog.querySelector(`[data-remap="${capturing}"]`).focus();
      say(`press the new key for "${actionText(ACTIONS.find((a) => a.id === capturing), keymap.page)}"`);
    }
  });
  dialog.addEventListener('close', () => { capturing = null; });

  function open() {
    if (dialog.open) return;
    render();
    dialog.showModal();
    dialog.querySelector('#keymap-close').focus();
  }
  function close() { capturing = null; dialog.close(); }

  doc.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || typing(e.target) || doc.querySelector('dialog[open]')) return;
    const hit = keymap.resolve(e);
    if (!hit || hit.action !== 'help') return;
    e.preventDefault();
    open();
  });
  doc.querySelectorAll('[data-open-help]').forEach((b) => b.addEventListener('click', open));
  render();
  showLabels();
  return { dialog, open, close, render };
}
