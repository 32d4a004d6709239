// The labeling page's parts that belong to one face, drawn again when the next
// face is shown in place (main.js): the title, the file line, the stage's size,
// the starting pose's origin, a reviewer's note, the progress and the options
// that depend on the face. The words are those of the page's templates
// (annotator/labeling/templates/annotator/label.html and label/_*.html).

const el = (doc, tag, attrs = {}, ...children) => {
  const node = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
};

const fixed = (value, digits) => (value === null || value === undefined ? '' : Number(value).toFixed(digits));
const capfirst = (text) => text.charAt(0).toUpperCase() + text.slice(1);
const weakRegime = (origin) => origin.regime && origin.regime !== 'frontal';

/** The low-confidence badge's tooltip and the line under the origin (label.html). */
export function confidenceWords(origin) {
  const expected = origin.expected_error_deg !== null && origin.expected_error_deg !== undefined;
  const title = `confidence ${fixed(origin.confidence, 2)}`
    + (expected ? `, about ${fixed(origin.expected_error_deg, 1)}° expected error` : '')
    + (weakRegime(origin) ? ` (${origin.regime} view: proposals are weaker here)` : '')
    + ': check this pose closely';
  const why = (weakRegime(origin) ? `${capfirst(origin.regime)} view, where proposals are weaker; ` : '')
    + (expected ? `about ${fixed(origin.expected_error_deg, 1)}° off expected` : `confidence ${fixed(origin.confidence, 2)}`)
    + ': check this pose closely.';
  return { title, why };
}

function originLine(doc, origin) {
  const line = el(doc, 'div', { id: 'origin-line' });
  if (origin.kind === 'annotation') {
    line.append(`your label v${origin.version} (${origin.status})`);
    return line;
  }
  line.append(origin.proposer);
  if (origin.version) line.append(' ', el(doc, 'span', { class: 'tag' }, `v${origin.version}`));
  if (origin.low_confidence) {
    const badge = el(doc, 'span', { class: 'tag low-confidence', id: 'low-confidence', title: confidenceWords(origin).title });
    badge.append('low confidence');
    line.append(' ', badge);
  }
  return line;
}

/** The "Starting pose" block: where the pose came from and what Reset goes to. */
function showOrigin(doc, state) {
  const block = doc.querySelector('.panel-block.origin');
  if (!block) return;
  const origin = state.initial.origin;
  const ref = state.reference.origin;
  const parts = [el(doc, 'div', { class: 'muted small' }, 'Starting pose'), originLine(doc, origin)];
  if (origin.low_confidence) {
    parts.push(el(doc, 'div', { class: 'small muted', id: 'confidence-why' }, confidenceWords(origin).why));
  }
  if (origin.kind === 'default') {
    parts.push(el(doc, 'div', { class: 'small no-proposal', id: 'no-proposal' },
      'No proposer gave a sane pose for this face (none found, or the back of the head): starting from a frontal head at the face box.'));
  }
  parts.push(el(doc, 'div', { class: 'muted small', id: 'reference-line' },
    `Reset goes to: ${ref.proposer}${ref.version ? ` v${ref.version}` : ''}`));
  block.replaceChildren(...parts);
}

/** A reviewer's verdict on the annotator's label (label/_review_note.html), after the progress. */
function showReviewNote(doc, annotation) {
  doc.getElementById('review-note')?.remove();
  const verdict = annotation && annotation.review_state;
  if (verdict !== 'rejected' && verdict !== 'amended') return;
  const note = verdict === 'rejected'
    ? el(doc, 'div', { class: 'review-banner', id: 'review-note', role: 'alert' },
      el(doc, 'b', {}, 'A reviewer sent this label back:'), ` ${annotation.review_reason_text} `)
    : el(doc, 'div', { class: 'review-banner amended', id: 'review-note', role: 'status' },
      el(doc, 'b', {}, 'A reviewer corrected this label:'),
      " the pose shown is theirs; yours is kept in the label's history. ");
  if (annotation.review_note) note.append(el(doc, 'div', {}, `“${annotation.review_note}”`));
  doc.getElementById('progress')?.after(note);
}

/** The progress bar and counts (label/_progress.html). */
export function showProgress(doc, progress) {
  const box = doc.getElementById('progress');
  if (!box || !progress) return;
  box.dataset.done = String(progress.done);
  box.dataset.total = String(progress.total);
  const bar = box.querySelector('.progress-bar span');
  if (bar) bar.style.width = `${Math.round((100 * progress.done) / (progress.total || 1))}%`;
  const done = box.querySelector('[data-role=done]');
  const remaining = box.querySelector('[data-role=remaining]');
  if (done) done.textContent = String(progress.done);
  if (remaining) remaining.textContent = String(progress.remaining);
}

/** The file line over the stage: file name, face number, a frame's sequence link. */
function showTitle(doc, state) {
  doc.title = `Label ${state.image.file_name} · HeadPose Studio`;
  const title = doc.getElementById('face-title');
  if (!title) return;
  const parts = [el(doc, 'span', { class: 'file' }, state.image.file_name)];
  if (state.face.index) parts.push(` · face ${state.face.index}`);
  if (state.sequence) {
    const { url, frame_index: frame } = state.sequence;
    parts.push(' ', el(doc, 'a', { id: 'sequence-link', href: `${url}#frame=${frame}` }, `sequence, frame ${frame}`));
  }
  parts.push(' ', el(doc, 'span', { class: 'muted small' }, `${state.image.width}×${state.image.height} px`));
  title.replaceChildren(...parts);
}

/** Everything above for `state` (the editor state of the face now shown). */
export function showFace(doc, state, progress) {
  showTitle(doc, state);
  const stage = doc.getElementById('stage');
  stage.style.setProperty('--w', state.image.width);
  stage.style.setProperty('--h', state.image.height);
  const img = doc.getElementById('face-image');
  img.alt = state.image.file_name;
  img.width = state.image.width;
  img.height = state.image.height;
  showOrigin(doc, state);
  showReviewNote(doc, state.annotation);
  showProgress(doc, progress || state.progress);
  const landmarks = doc.getElementById('opt-landmarks');
  if (landmarks) landmarks.disabled = !state.face.landmarks_2d;
  const proposals = doc.getElementById('proposal-block');
  if (proposals) proposals.hidden = !(state.proposals && state.proposals.length);
  doc.getElementById('flag-form')?.reset();
  for (const id of ['conflict-banner', 'error-banner']) { const b = doc.getElementById(id); if (b) b.hidden = true; }
}
