// Entry page: plotly charts from the #chart-data JSON, and progress polling
// while a proposer run is unfinished. Plotly comes from static/vendor/plotly.
const data = JSON.parse(document.getElementById("chart-data").textContent);
const FONT = { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 13, color: "#1d232b" };
const CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
const base = (extra) => Object.assign({
  font: FONT, margin: { l: 60, r: 20, t: 10, b: 50 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  hovermode: "closest",
}, extra);
const axis = (title, extra) => Object.assign({ title: { text: title }, gridcolor: "#e5e7eb", zeroline: false }, extra);

if (data.state !== "done") pollProgress();
else if (window.Plotly !== undefined) drawCharts(window.Plotly);

/** The three charts of a finished run (plotly: the vendored global). */
function drawCharts(Plotly) {
  // Cumulative error curves: this entry bold, others thin (others start visible up to 5, then legend-only).
  const curvesEl = document.getElementById("chart-curves");
  if (curvesEl && data.curves.length) {
    let shown = 0;
    const traces = data.curves.map((c) => {
      const own = c.id === data.entry.id;
      const g = c.curves.geodesic || { errors: [], fraction: [] };
      const visible = own || shown++ < 5 ? true : "legendonly";
      const cov = c.coverage < 1 ? ` (${(100 * c.coverage).toFixed(1)}% coverage)` : "";
      // fractions of ALL benchmark samples: a missing sample never counts as a success
      const y = g.fraction.map((f) => f * c.coverage);
      return {
        x: g.errors, y: y, type: "scatter", mode: "lines", name: c.name + cov, visible: visible,
        line: { width: own ? 3.5 : 1.6, shape: "hv" }, opacity: own ? 1 : 0.75,
        hovertemplate: "%{y:.1%} of samples ≤ %{x:.2f}°<extra>" + c.name.replace(/</g, "&lt;") + "</extra>",
      };
    });
    // the entry itself is drawn last, on top
    traces.sort((a, b) => (a.line.width > b.line.width) - (b.line.width > a.line.width));
    Plotly.newPlot(curvesEl, traces, base({
      xaxis: axis("geodesic error (degrees)", { range: [0, 30] }),
      yaxis: axis("fraction of samples", { range: [0, 1.02], tickformat: ".0%" }),
      legend: { orientation: "h", y: -0.22 }, height: 420, margin: { l: 60, r: 20, t: 10, b: 90 },
    }), CONFIG);
  }

  // MAE by |yaw| bin, one bar group per angle.
  const binsEl = document.getElementById("chart-bins");
  if (binsEl && data.yaw_bins.length) {
    const labels = data.yaw_bins.map((b) => `${b.label}° (n=${b.count})`);
    const colors = { yaw: "#2563eb", pitch: "#f59e0b", roll: "#10b981" };
    const traces = ["yaw", "pitch", "roll"].map((a) => ({
      x: labels, y: data.yaw_bins.map((b) => b["mae_" + a]), name: a, type: "bar", marker: { color: colors[a] },
      hovertemplate: a + " MAE %{y:.2f}°<extra>%{x}</extra>",
    }));
    Plotly.newPlot(binsEl, traces, base({
      barmode: "group", height: 260, xaxis: axis("ground-truth |yaw|"), yaxis: axis("MAE (degrees)"),
      legend: { orientation: "h", y: 1.15 }, margin: { l: 60, r: 10, t: 30, b: 50 },
    }), CONFIG);
  }

  // Per-sample geodesic error against ground-truth yaw; click opens the sample's drill-down.
  const scEl = document.getElementById("chart-scatter");
  const sc = data.scatter;
  if (scEl && sc.name.length) {
    const trace = {
      x: sc.yaw_gt, y: sc.geodesic, text: sc.name, type: sc.name.length > 2000 ? "scattergl" : "scatter",
      mode: "markers", customdata: sc.err_mean,
      marker: {
        size: sc.name.length > 2000 ? 4 : 9, opacity: 0.8, color: sc.pitch_gt, colorscale: "RdBu", cmid: 0,
        line: sc.name.length > 2000 ? { width: 0 } : { width: 1, color: "#374151" },
        colorbar: { title: { text: "GT pitch (°)" }, thickness: 12 },
      },
      hovertemplate: "%{text}<br>GT yaw %{x:.1f}°<br>geodesic %{y:.2f}°, mean angle %{customdata:.2f}°<extra></extra>",
    };
    Plotly.newPlot(scEl, [trace], base({
      height: 420, xaxis: axis("ground-truth yaw (degrees)"), yaxis: axis("geodesic error (degrees)", { rangemode: "tozero" }),
    }), CONFIG);
    scEl.on("plotly_click", (ev) => {
      const p = ev.points && ev.points[0];
      if (p) window.location = data.worst_url + "?sample=" + encodeURIComponent(p.text);
    });
  }
}

function pollProgress() {
  const bar = document.querySelector("#progress .progress-bar span");
  const text = document.getElementById("processed");
  if (data.state === "failed") return;
  const tick = () => fetch(data.status_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
    .then((e) => {
      if (text) text.textContent = e.processed;
      if (bar && e.total) bar.style.width = (100 * e.processed / e.total).toFixed(1) + "%";
      if (e.state === "done" || e.state === "failed") window.location.reload();
      else setTimeout(tick, 2000);
    })
    .catch(() => setTimeout(tick, 5000));
  setTimeout(tick, 1500);
}
