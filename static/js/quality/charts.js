// Quality page: plotly traces from the quality report (GET /api/v1/datasets/ID/quality/,
// the same JSON the page embeds). Pure: no DOM, unit-tested with node --test.

// Bin edges of charts.error_histogram: 1-degree bins from 0 to 30, then 30-180.
export const ERROR_EDGES = [...Array.from({ length: 31 }, (_, i) => i), 180];

function binLabel(i) {
  return i < 30 ? `${ERROR_EDGES[i]}–${ERROR_EDGES[i + 1]}°` : "over 30°";
}

// One bar trace per annotator: the share of their answers in each error bin.
export function errorTraces(report) {
  return report.annotators.filter((a) => a.charts.error_histogram.some((n) => n > 0)).map((a) => {
    const counts = a.charts.error_histogram;
    const total = counts.reduce((s, n) => s + n, 0);
    return {
      type: "bar", name: `${a.username} (${a.charts.error_kind})`,
      x: counts.map((_, i) => binLabel(i)), y: counts.map((n) => n / total),
      hovertemplate: "%{y:.1%} of labels at %{x}<extra>" + escapeHtml(a.username) + "</extra>",
    };
  });
}

function yawLabel(b) {
  return `${b.yaw_from}–${b.yaw_to}°`;
}

// Median error per |yaw| bin, one line per annotator (bins without data are gaps).
export function yawTraces(report) {
  return report.annotators.map((a) => ({
    type: "scatter", mode: "lines+markers", name: a.username,
    x: a.charts.error_by_abs_yaw.map(yawLabel), y: a.charts.error_by_abs_yaw.map((b) => b.median),
  }));
}

// The dataset's noise floor: median and p90 dispersion per |yaw| bin.
export function noiseTraces(report) {
  const x = report.noise_floor.map(yawLabel);
  return [
    { type: "bar", name: "median", x, y: report.noise_floor.map((b) => b.median) },
    { type: "bar", name: "p90", x, y: report.noise_floor.map((b) => b.p90) },
  ];
}

// Labels finished per hour, one bar series per annotator, on a time axis (bars at the hour's middle).
export function throughputTraces(report) {
  return report.annotators.filter((a) => a.charts.throughput_hours.length).map((a) => ({
    type: "bar", name: a.username,
    x: a.charts.throughput_hours.map(([t]) => new Date((t + 1800) * 1000).toISOString()),
    y: a.charts.throughput_hours.map(([, n]) => n),
  }));
}

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
