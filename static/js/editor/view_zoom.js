// Zoom and pan of the stage: one CSS transform, translate(x, y) scale(s) with
// origin 0 0, in CSS pixels of the stage, applied alike to the photo, the 3D
// canvas and the SVG layers. Pointer positions are read through each element's
// bounding box (camera.js eventToPixel), so they stay exact at any zoom.

export const MAX_SCALE = 32;

export class ViewZoom {
  /** stageWidth, stageHeight: the stage's CSS size at scale 1; imageWidth: pixels. */
  constructor(stageWidth, stageHeight, imageWidth) {
    this.scale = 1; this.x = 0; this.y = 0;
    this.resize(stageWidth, stageHeight, imageWidth);
  }

  resize(stageWidth, stageHeight, imageWidth) {
    Object.assign(this, { stageWidth, stageHeight, imageWidth });
    this.clamp();
  }

  /** Scale at which one image pixel is one CSS pixel. */
  get oneToOneScale() { return this.imageWidth / this.stageWidth; }

  get minScale() { return Math.min(1, this.oneToOneScale); }

  clamp() {
    this.scale = Math.min(MAX_SCALE, Math.max(this.minScale, this.scale));
    // at scale >= 1 the photo covers the stage; below, it stays inside it
    const lo = (size) => Math.min(0, size * (1 - this.scale));
    const hi = (size) => Math.max(0, size * (1 - this.scale));
    this.x = Math.min(hi(this.stageWidth), Math.max(lo(this.stageWidth), this.x));
    this.y = Math.min(hi(this.stageHeight), Math.max(lo(this.stageHeight), this.y));
  }

  /** Multiply the scale by `factor` keeping stage point (px, py) (CSS px) still. */
  zoomAt(factor, px, py) {
    const old = this.scale;
    this.scale = Math.min(MAX_SCALE, Math.max(this.minScale, old * factor));
    this.x = px - (px - this.x) * this.scale / old;
    this.y = py - (py - this.y) * this.scale / old;
    this.clamp();
  }

  /** Set the scale, keeping the stage centre still. */
  zoomTo(scale, px = this.stageWidth / 2, py = this.stageHeight / 2) { this.zoomAt(scale / this.scale, px, py); }

  panBy(dx, dy) { this.x += dx; this.y += dy; this.clamp(); }

  /** Centre image pixel (u, v) (OpenCV) in the stage at the present scale. */
  centreOn(u, v) {
    const k = this.stageWidth / this.imageWidth * this.scale;
    this.x = this.stageWidth / 2 - (u + 0.5) * k;
    this.y = this.stageHeight / 2 - (v + 0.5) * k;
    this.clamp();
  }

  fit() { this.scale = 1; this.x = 0; this.y = 0; this.clamp(); }

  get css() { return `translate(${this.x}px, ${this.y}px) scale(${this.scale})`; }
}

/** Zoom factor for a wheel event ({deltaY, deltaMode, ctrlKey}): down zooms out, up in. A mouse
 * wheel's notch is clamped (a fast wheel does not jump); a trackpad pinch comes as small deltas
 * with ctrlKey, made five times stronger; a wheel counted in lines (deltaMode 1) as 33 px a line. */
export function wheelZoomFactor({ deltaY, deltaMode = 0, ctrlKey = false }) {
  const px = deltaY * (deltaMode === 1 ? 33 : 1) * (ctrlKey ? 5 : 1);
  return Math.exp(-Math.max(-200, Math.min(200, px)) * 0.002);
}
