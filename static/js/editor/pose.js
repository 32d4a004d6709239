// Pose math in the stored convention (../shared/docs/POSE_CONVENTIONS.md):
// camera frame OpenCV (x right, y down, z forward), mm; X_cam = R X_head + t;
// R is 9 numbers, row-major. Euler angles are AFLW2000's:
// R = Rx(-pitch) Ry(yaw) Rz(roll), degrees. The browser mirrors
// workers/core/geometry.py here; tests compare the two.

const DEG = Math.PI / 180;

export function matmul(A, B) {
  const C = new Array(9);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      C[3 * i + j] = A[3 * i] * B[j] + A[3 * i + 1] * B[3 + j] + A[3 * i + 2] * B[6 + j];
    }
  }
  return C;
}

export function transpose(A) {
  return [A[0], A[3], A[6], A[1], A[4], A[7], A[2], A[5], A[8]];
}

export function apply(R, v) {
  return [R[0] * v[0] + R[1] * v[1] + R[2] * v[2],
          R[3] * v[0] + R[4] * v[1] + R[5] * v[2],
          R[6] * v[0] + R[7] * v[1] + R[8] * v[2]];
}

function rx(a) { const c = Math.cos(a), s = Math.sin(a); return [1, 0, 0, 0, c, -s, 0, s, c]; }
function ry(a) { const c = Math.cos(a), s = Math.sin(a); return [c, 0, s, 0, 1, 0, -s, 0, c]; }
function rz(a) { const c = Math.cos(a), s = Math.sin(a); return [c, -s, 0, s, c, 0, 0, 0, 1]; }

/** [yaw, pitch, roll] degrees -> R (camera frame). */
export function eulerToMatrix(yaw, pitch, roll) {
  return matmul(matmul(rx(-pitch * DEG), ry(yaw * DEG)), rz(roll * DEG));
}

/** R -> [yaw, pitch, roll] degrees, yaw in [-90, 90]. */
export function matrixToEuler(R) {
  const yaw = Math.asin(Math.max(-1, Math.min(1, R[2])));
  const pitch = Math.atan2(R[5], R[8]);
  const roll = Math.atan2(-R[1], R[0]);
  return [yaw / DEG, pitch / DEG, roll / DEG];
}

/** R -> [yaw, pitch, roll] degrees with yaw in (-180, 180] and pitch in [-90, 90]
 * (WHENet's wide range, geometry.matrix_to_euler_wide): a head turned past profile
 * keeps its yaw. Same rotation as matrixToEuler's triple; they differ only where
 * that one's |pitch| exceeds 90, where this takes (180 - yaw, pitch - 180, roll - 180). */
export function matrixToEulerWide(R) {
  const e = matrixToEuler(R);
  if (Math.abs(e[1]) <= 90) return e;
  const wrap = (a) => -((((-a + 180) % 360) + 360) % 360 - 180);
  return [wrap(180 - e[0]), wrap(e[1] - 180), wrap(e[2] - 180)];
}

/** Rotation of `angle` radians about `axis` (any length > 0), Rodrigues. */
export function axisAngle(axis, angle) {
  const n = Math.hypot(axis[0], axis[1], axis[2]);
  if (!(n > 1e-15) || angle === 0) return [1, 0, 0, 0, 1, 0, 0, 0, 1];
  const x = axis[0] / n, y = axis[1] / n, z = axis[2] / n;
  const c = Math.cos(angle), s = Math.sin(angle), k = 1 - c;
  return [c + x * x * k, x * y * k - z * s, x * z * k + y * s,
          y * x * k + z * s, c + y * y * k, y * z * k - x * s,
          z * x * k - y * s, z * y * k + x * s, c + z * z * k];
}

/** Nearest-ish rotation by Gram-Schmidt on the columns; drags accumulate drift. */
export function orthonormalize(R) {
  let a = [R[0], R[3], R[6]];
  let b = [R[1], R[4], R[7]];
  const na = Math.hypot(...a);
  a = a.map((v) => v / na);
  const d = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  b = b.map((v, i) => v - d * a[i]);
  const nb = Math.hypot(...b);
  b = b.map((v) => v / nb);
  const c = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  return [a[0], b[0], c[0], a[1], b[1], c[1], a[2], b[2], c[2]];
}

export function isRotation(R, tol = 1e-3) {
  if (!Array.isArray(R) || R.length !== 9 || !R.every(Number.isFinite)) return false;
  const P = matmul(R, transpose(R));
  const I = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  if (P.some((v, i) => Math.abs(v - I[i]) > tol)) return false;
  const det = R[0] * (R[4] * R[8] - R[5] * R[7]) - R[1] * (R[3] * R[8] - R[5] * R[6]) + R[2] * (R[3] * R[7] - R[4] * R[6]);
  return Math.abs(det - 1) < tol;
}

/** Camera-frame pose (OpenCV) -> three.js camera frame: R3 = F R F, t3 = F t, F = diag(1,-1,-1). */
export function toThree(R, t) {
  const f = [1, -1, -1];
  const R3 = R.map((v, k) => f[Math.floor(k / 3)] * f[k % 3] * v);
  const t3 = t.map((v, i) => f[i] * v);
  return { R: R3, t: t3 };
}

export function clonePose(pose) {
  return { R: pose.R.slice(), t: pose.t.slice() };
}

export function posesEqual(a, b, tol = 1e-9) {
  return a.R.every((v, i) => Math.abs(v - b.R[i]) <= tol) && a.t.every((v, i) => Math.abs(v - b.t[i]) <= tol);
}

/** A pose handed in from outside: {R: 9 finite numbers forming a rotation, t: 3 finite numbers}. */
export function checkPose(pose) {
  if (!pose || !isRotation(pose.R)) throw new TypeError('pose.R must be 9 numbers forming a rotation (row-major)');
  if (!Array.isArray(pose.t) || pose.t.length !== 3 || !pose.t.every(Number.isFinite)) {
    throw new TypeError('pose.t must be 3 finite numbers (mm)');
  }
  return { R: pose.R.map(Number), t: pose.t.map(Number) };
}
