// Polls an export job until it ends, then shows the download link.
const box = document.getElementById("export-job");
const bar = document.getElementById("export-bar");
const state = document.getElementById("export-state");
const download = document.getElementById("export-download");
const errors = document.getElementById("export-errors");
const skipped = document.getElementById("export-skipped");

async function poll() {
  const r = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
  if (!r.ok) { state.textContent = `Could not read the export's state (HTTP ${r.status}).`; return; }
  const job = await r.json();
  bar.style.width = `${job.percent}%`;
  state.textContent = `${job.activity} · ${job.processed} / ${job.total} faces`;  // "waiting for a worker", "running (heartbeat 2 s ago)"
  errors.replaceChildren(...job.errors.map((e) => Object.assign(document.createElement("li"), { textContent: e.message })));
  const left = (job.result && job.result.skipped) || [];
  if (left.length) {
    document.getElementById("export-skipped-count").textContent = `${left.length}`;
    document.getElementById("export-skipped-list").replaceChildren(...left.map((f) => Object.assign(
      document.createElement("li"), { textContent: `${f.image} face ${f.face_index}: ${f.reason}` })));
    skipped.hidden = false;
  }
  if (job.download_url) download.hidden = false;
  if (!job.is_finished) setTimeout(poll, 1000);
}
poll();
