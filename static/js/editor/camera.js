// The one place that converts between OpenCV pixels and the browser.
// OpenCV: pixel (0,0) is the CENTRE of the top-left pixel, so the image spans
// [-0.5, W-0.5] x [-0.5, H-0.5]. WebGL NDC spans the pixel edges [-1, 1], y up.
// Hence x_ndc = 2 (u + 0.5) / W - 1 and y_ndc = 1 - 2 (v + 0.5) / H.

/**
 * three.js projection matrix (column-major elements for Matrix4.fromArray) that
 * maps three.js camera coordinates (y up, looking down -z) to clip space so a
 * point lands where K puts it in OpenCV pixels. Skew K[1] is honoured.
 */
export function projectionFromK(K, W, H, near, far) {
  const [fx, s, cx, , fy, cy] = K;
  // Row-major rows of P, derived from u = fx x/z + s y/z + cx with
  // (x, y, z)_opencv = (x3, -y3, -z3) and w_clip = -z3.
  const rows = [
    [2 * fx / W, -2 * s / W, 1 - 2 * (cx + 0.5) / W, 0],
    [0, 2 * fy / H, 2 * (cy + 0.5) / H - 1, 0],
    [0, 0, -(far + near) / (far - near), -2 * far * near / (far - near)],
    [0, 0, -1, 0],
  ];
  const e = new Array(16);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) e[c * 4 + r] = rows[r][c];
  return e;
}

/** SVG viewBox whose user units are OpenCV pixel coordinates. */
export function imageViewBox(W, H) {
  return `-0.5 -0.5 ${W} ${H}`;
}

/** A pointer event's position in OpenCV pixels of the image shown in `element`. */
export function eventToPixel(event, element, W, H) {
  const r = element.getBoundingClientRect();
  return [(event.clientX - r.left) / r.width * W - 0.5, (event.clientY - r.top) / r.height * H - 0.5];
}

/** Pinhole projection of a camera-frame point (OpenCV), no distortion. */
export function projectPoint(K, X) {
  return [(K[0] * X[0] + K[1] * X[1]) / X[2] + K[2], K[4] * X[1] / X[2] + K[5]];
}
