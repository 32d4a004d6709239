// The angle between two head rotations, as the review page's table shows it
// (the server's tables come from workers/core/geometry.geodesic_distance; this
// one fills the live "your correction" row).
import { matmul, transpose } from '../editor/pose.js';

/** Geodesic angle in degrees between rotations R1 and R2 (9 numbers, row-major):
 * the rotation angle of R1^T R2. atan2 of the sine (from the skew part) and
 * the cosine (from the trace) stays accurate near 0 and 180 degrees. */
export function geodesicDegrees(R1, R2) {
  const D = matmul(transpose(R1), R2);
  const s = 0.5 * Math.hypot(D[7] - D[5], D[2] - D[6], D[3] - D[1]);
  const c = 0.5 * (D[0] + D[4] + D[8] - 1);
  return (Math.atan2(s, c) * 180) / Math.PI;
}
