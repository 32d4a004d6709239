import assert from "node:assert/strict";
import { test } from "node:test";

import { ERROR_EDGES, errorTraces, escapeHtml, noiseTraces, throughputTraces, yawTraces } from
  "../../static/js/quality/charts.js";

const bins = (values) => [0, 15, 30].map((lo, i) => ({ yaw_from: lo, yaw_to: lo + 15, n: 1, median: values[i], p90: values[i] * 2 }));
const hist = (at, n) => ERROR_EDGES.slice(0, -1).map((_, i) => (i === at ? n : 0));
const REPORT = {
  noise_floor: bins([1, 2, 4]),
  annotators: [
    { username: "ann<1>", charts: { error_kind: "honeypot", error_histogram: hist(2, 4), error_by_abs_yaw: bins([1, 1, 2]),
      throughput_hours: [[3600, 5], [7200, 7]] } },
    { username: "idle", charts: { error_kind: "agreement", error_histogram: hist(0, 0), error_by_abs_yaw: bins([null, null, null]),
      throughput_hours: [] } },
  ],
};

test("error histogram: shares per bin, annotators without data left out", () => {
  const traces = errorTraces(REPORT);
  assert.equal(traces.length, 1);
  assert.equal(traces[0].name, "ann<1> (honeypot)");
  assert.equal(traces[0].x.length, 31);
  assert.equal(traces[0].x[2], "2–3°");
  assert.equal(traces[0].x[30], "over 30°");
  assert.deepEqual(traces[0].y.filter((v) => v > 0), [1]);
  assert.ok(traces[0].hovertemplate.includes("ann&#60;1&#62;"));
});

test("noise floor and yaw bins keep their order and gaps", () => {
  const [median, p90] = noiseTraces(REPORT);
  assert.deepEqual(median.x, ["0–15°", "15–30°", "30–45°"]);
  assert.deepEqual(median.y, [1, 2, 4]);
  assert.deepEqual(p90.y, [2, 4, 8]);
  assert.deepEqual(yawTraces(REPORT)[1].y, [null, null, null]);
});

test("throughput: bars centred on their hour, counts as given", () => {
  const traces = throughputTraces(REPORT);
  assert.equal(traces.length, 1);
  assert.deepEqual(traces[0].x, ["1970-01-01T01:30:00.000Z", "1970-01-01T02:30:00.000Z"]);
  assert.deepEqual(traces[0].y, [5, 7]);
});

test("escapeHtml", () => {
  assert.equal(escapeHtml(`<a href="x">&'`), "&#60;a href=&#34;x&#34;&#62;&#38;&#39;");
});
