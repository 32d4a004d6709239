// A 6DoF pose from 2D–3D point pairs (PnP), in the browser, no DOM.
// Pose convention as pose.js (X_cam = R X_head + t, OpenCV camera frame, mm);
// K is 9 numbers row-major (skew K[1] honoured), pixels are OpenCV's (0,0 = the
// centre of the top-left pixel).
//
// Levenberg–Marquardt on the pose with a local rotation-vector update:
// R <- exp([w]x) R, t <- t + dt, analytic Jacobian. Three uses:
//  - solvePnP: plain least squares on the reprojection error (what
//    cv2.solvePnP(SOLVEPNP_ITERATIVE, useExtrinsicGuess) minimises; a CI test
//    holds the two against each other);
//  - with a prior: extra residuals pulling toward a given pose, so that 1-3
//    points (under-determined alone) move the head as little as needed;
//  - Huber loss (iteratively reweighted) for "snap" to detected landmarks, whose
//    jaw points slide along the silhouette and whose detector errs now and then.
import { apply, axisAngle, matmul, transpose } from './pose.js';

/** Scale of the head for the prior: a rotation of 1 rad moves a point this far (mm). */
export const HEAD_RADIUS_MM = 80;
/** Prior weight for 1-3 pins: small, so the pins are met almost exactly and the
 * rest of the pose moves the least (in pixels) that does it. */
export const PRIOR_WEIGHT = 0.1;
/** Pins needed for a full 6DoF solve (fewer, or all on one line: a partial solve, solveKind). */
export const FULL_SOLVE_PINS = 4;
/** Pins this close to one line (the second spread over the first, 3D) do not fix the roll about it. */
const COLLINEAR_RATIO = 0.05;

/** What a solve from these pins moves: which of the six degrees of freedom
 * (rotation x, y, z, then t x, y, z) are free, and what the panel says.
 *  - 'xy': one pin: the head slides across the image (rotation and depth held);
 *  - 'rotation+xy': 2-3 pins, or more on one line: rotation and x/y (depth held);
 *  - 'full': 4 or more pins not on one line: all six. */
export const SOLVE_KINDS = {
  none: { free: [false, false, false, false, false, false], text: '' },
  xy: { free: [false, false, false, true, true, false], text: 'partial solve: x/y only (rotation and depth held)' },
  'rotation+xy': { free: [true, true, true, true, true, false], text: 'partial solve: rotation and x/y (depth held)' },
  full: { free: [true, true, true, true, true, true], text: 'full solve (6DoF)' },
};

/** The solve kind (SOLVE_KINDS) that `pins` determine on the model `points3d`. */
export function solveKind(points3d, pins) {
  if (pins.length === 0) return 'none';
  if (pins.length === 1) return 'xy';
  if (pins.length < FULL_SOLVE_PINS || collinear(pins.map((p) => points3d[p.index]))) return 'rotation+xy';
  return 'full';
}

/** Whether 3D points lie (nearly) on one line: the two largest principal spreads. */
function collinear(points) {
  const n = points.length;
  const mean = [0, 1, 2].map((k) => points.reduce((s, p) => s + p[k], 0) / n);
  const C = new Array(9).fill(0);
  for (const p of points) for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) C[3 * a + b] += (p[a] - mean[a]) * (p[b] - mean[b]);
  // eigenvalues of the symmetric 3x3 (trigonometric form)
  const q = (C[0] + C[4] + C[8]) / 3;
  const p1 = C[1] ** 2 + C[2] ** 2 + C[5] ** 2;
  const p2 = (C[0] - q) ** 2 + (C[4] - q) ** 2 + (C[8] - q) ** 2 + 2 * p1;
  const pp = Math.sqrt(p2 / 6);
  if (pp < 1e-12) return true;
  const B = C.map((v, k) => (v - (k % 4 === 0 ? q : 0)) / pp);
  const detB = B[0] * (B[4] * B[8] - B[5] * B[7]) - B[1] * (B[3] * B[8] - B[5] * B[6]) + B[2] * (B[3] * B[7] - B[4] * B[6]);
  const phi = Math.acos(Math.max(-1, Math.min(1, detB / 2))) / 3;
  const e1 = q + 2 * pp * Math.cos(phi), e3 = q + 2 * pp * Math.cos(phi + 2 * Math.PI / 3);
  const e2 = 3 * q - e1 - e3;
  return Math.sqrt(Math.max(e2, 0) / e1) < COLLINEAR_RATIO;
}
/** Huber threshold for snapping, pixels. */
export const HUBER_PX = 2;

const MAX_ITERATIONS = 100;

function rotationVector(R) {
  // log map of a rotation; stable near 0 and near pi is not needed for a prior.
  const c = Math.max(-1, Math.min(1, (R[0] + R[4] + R[8] - 1) / 2));
  const theta = Math.acos(c);
  const v = [R[7] - R[5], R[2] - R[6], R[3] - R[1]];
  if (theta < 1e-8) return v.map((x) => x / 2);
  const k = theta / (2 * Math.sin(theta));
  return v.map((x) => x * k);
}

function expMap(w) {
  const n = Math.hypot(w[0], w[1], w[2]);
  return axisAngle(w, n);
}

/** Inverse left Jacobian of SO(3) at phi: d log(exp(w) exp(phi)) / dw at w = 0. */
function inverseLeftJacobian(phi) {
  const th = Math.hypot(phi[0], phi[1], phi[2]);
  const P = [0, -phi[2], phi[1], phi[2], 0, -phi[0], -phi[1], phi[0], 0];
  const P2 = matmul(P, P);
  const b = th < 1e-4 ? 1 / 12 : 1 / (th * th) - (1 + Math.cos(th)) / (2 * th * Math.sin(th));
  return [0, 1, 2, 3, 4, 5, 6, 7, 8].map((k) => (k % 4 === 0 ? 1 : 0) - 0.5 * P[k] + b * P2[k]);
}

/** Solve the symmetric positive definite 6x6 system A x = b (Cholesky); null if not PD. */
function solve6(A, b) {
  const n = 6;
  const L = new Float64Array(36);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0)) return null;
        L[i * n + i] = Math.sqrt(s);
      } else {
        L[i * n + j] = s / L[j * n + j];
      }
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k];
    y[i] = s / L[i * n + i];
  }
  const x = new Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

/** Image positions (OpenCV pixels) of head-frame points under a pose. */
export function projectPoints(K, points3d, pose) {
  return points3d.map((P) => {
    const X = apply(pose.R, P);
    const x = X[0] + pose.t[0], y = X[1] + pose.t[1], z = X[2] + pose.t[2];
    return [(K[0] * x + K[1] * y) / z + K[2], K[4] * y / z + K[5]];
  });
}

/** Root mean square distance (px) between pinned points and where the pose puts them. */
export function reprojectionRmse(K, points3d, pins, pose) {
  if (!pins.length) return 0;
  const shown = projectPoints(K, pins.map((p) => points3d[p.index]), pose);
  const s = pins.reduce((acc, p, i) => acc + (shown[i][0] - p.x) ** 2 + (shown[i][1] - p.y) ** 2, 0);
  return Math.sqrt(s / pins.length);
}

/** Prior residual scales: pixels per rad of rotation, per mm of x/y and of z. */
function priorScales(K, prior, weight) {
  const z = Math.max(prior.t[2], 1e-6);
  const f = (K[0] + K[4]) / 2;
  const rot = weight * f * HEAD_RADIUS_MM / z;
  const xy = weight * f / z;
  const depth = weight * f * HEAD_RADIUS_MM / (z * z);
  return [rot, rot, rot, xy, xy, depth];
}

function huberWeight(norm, delta) {
  return norm <= delta ? 1 : delta / norm;
}

function huberCost(norm2, delta) {
  const n = Math.sqrt(norm2);
  return n <= delta ? norm2 : 2 * delta * n - delta * delta;
}

/**
 * Least-squares (or Huber) pose from point pairs, Levenberg–Marquardt from `start`.
 * points3d: [[x, y, z], ...] head frame mm; points2d: [[u, v], ...] pixels, same order.
 * options: prior {R, t} and priorWeight (extra residuals toward that pose),
 * huber (threshold px; absent: plain squares), maxIterations, free (6 booleans:
 * rotation x, y, z, t x, y, z; a held one keeps its value, default all free).
 * Returns {R, t, iterations, cost} (cost: the minimised sum, pixels squared).
 */
export function solvePnP(K, points3d, points2d, start, options = {}) {
  const {
    prior = null, priorWeight = PRIOR_WEIGHT, huber = 0, maxIterations = MAX_ITERATIONS, free = SOLVE_KINDS.full.free,
  } = options;
  const n = points3d.length;
  if (n !== points2d.length) throw new RangeError('points3d and points2d differ in length');
  const scales = prior ? priorScales(K, prior, priorWeight) : null;
  const priorRt = prior ? transpose(prior.R) : null;
  let R = start.R.slice(), t = start.t.slice();

  // Residuals of the image points under (R, t): [du, dv] each, or null if a point is behind the camera.
  const residuals = (Rc, tc) => {
    const out = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const X = apply(Rc, points3d[i]);
      const x = X[0] + tc[0], y = X[1] + tc[1], z = X[2] + tc[2];
      if (!(z > 1e-9)) return null;
      out[2 * i] = (K[0] * x + K[1] * y) / z + K[2] - points2d[i][0];
      out[2 * i + 1] = K[4] * y / z + K[5] - points2d[i][1];
    }
    return out;
  };
  const priorResiduals = (Rc, tc) => {
    const phi = rotationVector(matmul(Rc, priorRt));
    const d = [...phi, tc[0] - prior.t[0], tc[1] - prior.t[1], tc[2] - prior.t[2]];
    return { phi, r: d.map((v, k) => v * scales[k]) };
  };
  // Huber weights are fixed per iteration (IRLS); the cost compares steps with the true loss.
  const cost = (r, pr) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const q = r[2 * i] ** 2 + r[2 * i + 1] ** 2;
      s += huber > 0 ? huberCost(q, huber) : q;
    }
    if (pr) for (const v of pr.r) s += v * v;
    return s;
  };

  let r = residuals(R, t);
  if (!r) throw new RangeError('a point is behind the camera at the start pose');
  let pr = prior ? priorResiduals(R, t) : null;
  let current = cost(r, pr);
  let lambda = 1e-3;
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    const A = new Float64Array(36);
    const g = new Float64Array(6);
    const row = [new Float64Array(6), new Float64Array(6)];
    for (let i = 0; i < n; i++) {
      const q = apply(R, points3d[i]); // rotated point; d(exp(w) q)/dw = -[q]x
      const x = q[0] + t[0], y = q[1] + t[1], z = q[2] + t[2];
      const iz = 1 / z;
      // d(u, v)/d(x, y, z)
      const du = [K[0] * iz, K[1] * iz, -(K[0] * x + K[1] * y) * iz * iz];
      const dv = [0, K[4] * iz, -K[4] * y * iz * iz];
      [du, dv].forEach((d, a) => {
        // d/dw of d . (-[q]x w) = (q x d) . w
        row[a][0] = q[1] * d[2] - q[2] * d[1];
        row[a][1] = q[2] * d[0] - q[0] * d[2];
        row[a][2] = q[0] * d[1] - q[1] * d[0];
        row[a][3] = d[0]; row[a][4] = d[1]; row[a][5] = d[2];
      });
      const w = huber > 0 ? huberWeight(Math.hypot(r[2 * i], r[2 * i + 1]), huber) : 1;
      for (let a = 0; a < 2; a++) {
        const ra = r[2 * i + a];
        for (let j = 0; j < 6; j++) {
          g[j] += w * row[a][j] * ra;
          for (let k = 0; k <= j; k++) A[j * 6 + k] += w * row[a][j] * row[a][k];
        }
      }
    }
    if (pr) {
      const Jinv = inverseLeftJacobian(pr.phi);
      for (let a = 0; a < 3; a++) {
        for (let j = 0; j < 3; j++) {
          g[j] += scales[a] * Jinv[3 * a + j] * pr.r[a];
          for (let k = 0; k <= j; k++) A[j * 6 + k] += scales[a] ** 2 * Jinv[3 * a + j] * Jinv[3 * a + k];
        }
        A[(a + 3) * 7] += scales[a + 3] ** 2;
        g[a + 3] += scales[a + 3] * pr.r[a + 3];
      }
    }
    for (let j = 0; j < 6; j++) for (let k = 0; k < j; k++) A[k * 6 + j] = A[j * 6 + k];
    // a held degree of freedom: its row and column decoupled, its step zero
    for (let j = 0; j < 6; j++) {
      if (free[j]) continue;
      for (let k = 0; k < 6; k++) { A[j * 6 + k] = 0; A[k * 6 + j] = 0; }
      A[j * 7] = 1; g[j] = 0;
    }

    let improved = false, small = false;
    while (lambda < 1e16) {
      const M = Float64Array.from(A);
      for (let j = 0; j < 6; j++) M[j * 7] += lambda * (A[j * 7] + 1e-12);
      const step = solve6(M, g.map((v) => -v));
      if (step) {
        const R2 = matmul(expMap(step.slice(0, 3)), R);
        const t2 = [t[0] + step[3], t[1] + step[4], t[2] + step[5]];
        const r2 = residuals(R2, t2);
        const pr2 = r2 && prior ? priorResiduals(R2, t2) : null;
        const c2 = r2 ? cost(r2, pr2) : Infinity;
        if (c2 <= current) {
          small = Math.hypot(step[0], step[1], step[2]) < 1e-12 &&
            Math.hypot(step[3], step[4], step[5]) < 1e-9 * (1 + Math.abs(t[2]));
          small = small || current - c2 <= 1e-16 * current;
          R = R2; t = t2; r = r2; pr = pr2; current = c2;
          lambda = Math.max(lambda / 10, 1e-12);
          improved = true;
          break;
        }
      }
      lambda *= 10;
    }
    if (!improved || small) { iterations++; break; }
  }
  return { R, t, iterations, cost: current };
}

/**
 * The pose the pins ask for, starting from `pose`: only the degrees of freedom
 * the pins determine move (solveKind); a partial solve is also held toward
 * `pose` (a small prior), so that what the pins leave open moves the least.
 * pins: [{index, x, y}] (iBUG-68 index, image px).
 * Returns {R, t, mode: 'none' | 'xy' | 'rotation+xy' | 'full', rmse, before, iterations}
 * (before: the pins' RMSE at `pose`).
 */
export function solvePins(K, points3d, pins, pose) {
  const before = reprojectionRmse(K, points3d, pins, pose);
  const mode = solveKind(points3d, pins);
  if (mode === 'none') return { R: pose.R.slice(), t: pose.t.slice(), mode, rmse: 0, before, iterations: 0 };
  const P = pins.map((p) => points3d[p.index]);
  const u = pins.map((p) => [p.x, p.y]);
  const { free } = SOLVE_KINDS[mode];
  const out = solvePnP(K, P, u, pose, mode === 'full' ? {} : { prior: pose, free });
  return { R: out.R, t: out.t, mode, iterations: out.iterations, before,
           rmse: reprojectionRmse(K, points3d, pins, out) };
}

/** Robust fit to a face's own landmarks (all 68, iBUG order): "snap". */
export function snapPose(K, points3d, landmarks2d, pose, huber = HUBER_PX) {
  const out = solvePnP(K, points3d, landmarks2d, pose, { huber });
  return { R: out.R, t: out.t, iterations: out.iterations };
}

/** Geodesic angle between two rotations, degrees. */
export function geodesicDegrees(R1, R2) {
  // atan2 of sine and cosine: acos alone loses precision near 0.
  const M = matmul(transpose(R1), R2);
  const sine = Math.hypot(M[7] - M[5], M[2] - M[6], M[3] - M[1]) / 2;
  return Math.atan2(sine, (M[0] + M[4] + M[8] - 1) / 2) * 180 / Math.PI;
}
