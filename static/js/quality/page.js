// Quality page: draws the charts of static/js/quality/charts.js with the vendored plotly.
import { errorTraces, noiseTraces, throughputTraces, yawTraces } from "./charts.js";

const report = JSON.parse(document.getElementById("quality-data").textContent);
const FONT = { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 13, color: "#1d232b" };
const CONFIG = { responsive: true, displaylogo: false };
const layout = (xTitle, yTitle, extra) => Object.assign({
  font: FONT, height: 320, margin: { l: 60, r: 20, t: 10, b: 60 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  xaxis: { title: { text: xTitle }, gridcolor: "#e5e7eb" }, yaxis: { title: { text: yTitle }, gridcolor: "#e5e7eb" },
}, extra);

function draw(id, traces, xTitle, yTitle, extra) {
  const el = document.getElementById(id);
  if (!el) return;
  if (!traces.length) {
    el.textContent = "No data yet.";
    el.className = "muted";
    return;
  }
  window.Plotly.newPlot(el, traces, layout(xTitle, yTitle, extra), CONFIG);
}

if (window.Plotly) {
  draw("chart-noise", noiseTraces(report), "|yaw| of the consensus", "dispersion (°)", { barmode: "group" });
  draw("chart-errors", errorTraces(report), "geodesic error", "share of labels", { barmode: "group" });
  draw("chart-yaw", yawTraces(report), "|yaw|", "median error (°)");
  draw("chart-throughput", throughputTraces(report), "hour", "labels finished",
    { barmode: "group", xaxis: { type: "date", title: { text: "hour (UTC)" }, gridcolor: "#e5e7eb" } });
}
document.body.dataset.chartsReady = "1";
