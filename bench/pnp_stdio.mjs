// The editor's PnP solver (static/js/editor/pnp.js) behind a line protocol, so
// Python (tests, bench/bench_landmark_drags.py) runs the very code the page runs.
// One JSON request per line on stdin, one JSON answer per line on stdout:
//   {"op": "solvePnP", "K", "points3d", "points2d", "start", "options"}
//   {"op": "solvePins", "K", "points3d", "pins", "pose"}
//   {"op": "snapPose", "K", "points3d", "landmarks2d", "pose", "huber"}
//   {"op": "projectPoints", "K", "points3d", "pose"}
// An error answers {"error": message}.
import { createInterface } from 'node:readline';
import { projectPoints, snapPose, solvePins, solvePnP } from '../static/js/editor/pnp.js';

const ops = {
  solvePnP: (q) => solvePnP(q.K, q.points3d, q.points2d, q.start, q.options || {}),
  solvePins: (q) => solvePins(q.K, q.points3d, q.pins, q.pose),
  snapPose: (q) => snapPose(q.K, q.points3d, q.landmarks2d, q.pose, q.huber),
  projectPoints: (q) => ({ points: projectPoints(q.K, q.points3d, q.pose) }),
  timeSolvePins: (q) => {
    // Milliseconds per solvePins call, measured inside node (no pipe overhead).
    const t0 = performance.now();
    for (let i = 0; i < q.repeats; i++) solvePins(q.K, q.points3d, q.pins, q.pose);
    return { ms_per_solve: (performance.now() - t0) / q.repeats };
  },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const q = JSON.parse(line);
    if (!(q.op in ops)) throw new Error(`unknown op ${q.op}`);
    answer = ops[q.op](q);
  } catch (err) {
    answer = { error: String(err && err.message || err) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
