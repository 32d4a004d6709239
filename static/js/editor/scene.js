// The three.js view: a camera that reproduces the image's K, and the head
// mesh placed at the pose. Renders on demand (no animation loop) so an idle
// page costs nothing.
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { projectionFromK } from './camera.js';
import { toThree } from './pose.js';

// Rotation by 180 degrees about x: the head's own frame (y to the chin, z to the
// back, as stored in head.glb) seen in three.js's y-up frame. With it the
// group's matrix is exactly [F R F | F t] of POSE_CONVENTIONS.md.
const F4 = new THREE.Matrix4().makeScale(1, -1, -1);

export class HeadView {
  constructor(canvas, { width, height, K }) {
    this.canvas = canvas;
    this.width = width;
    this.height = height;
    this.K = K;
    this.renderer = new THREE.WebGLRenderer({
      // premultipliedAlpha (the default) matches what blending onto a transparent clear produces.
      canvas, alpha: true, antialias: true, preserveDrawingBuffer: true,
    });
    this.renderer.setPixelRatio(1); // the drawing buffer is the image's pixel grid
    this.renderer.setSize(width, height, false);
    this.renderer.setClearColor(0x000000, 0);
    this.scene = new THREE.Scene();
    this.camera = new THREE.PerspectiveCamera();
    this.camera.matrixAutoUpdate = false;
    this.camera.matrixWorldAutoUpdate = false;

    // A key light from the upper left of the camera and a weak ambient: the
    // shading shows the head's shape, so its turn reads at a glance.
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x334155, 0.6));
    const key = new THREE.DirectionalLight(0xffffff, 2.8);
    key.position.set(-0.6, 0.7, 1);
    this.scene.add(key);

    this.pose = new THREE.Group(); // [F R F | F t]
    this.pose.matrixAutoUpdate = false;
    this.head = new THREE.Group(); // head frame (y chin, z back)
    this.head.matrixAutoUpdate = false;
    this.head.matrix.copy(F4);
    this.pose.add(this.head);
    this.scene.add(this.pose);

    this.material = new THREE.MeshLambertMaterial({
      color: 0x7dd3fc, transparent: true, opacity: 0.55, side: THREE.FrontSide, depthWrite: true,
    });
    this.axes = axesGizmo(80);
    this.head.add(this.axes);
    this.markers = null;
    this.mesh = null;
    this._frame = 0;
    this.renderCount = 0;
    this.tz = 1000;
  }

  /** Another image under the same scene and head (the labeling page's next face): its size and K. */
  setImage({ width, height, K }) {
    if (width !== this.width || height !== this.height) this.renderer.setSize(width, height, false);
    Object.assign(this, { width, height, K });
    this.requestRender();
  }

  async loadHead(url) {
    let mesh;
    try {
      const gltf = await new GLTFLoader().loadAsync(url);
      gltf.scene.traverse((o) => { if (o.isMesh && !mesh) mesh = o; });
      if (!mesh) throw new Error('no mesh in ' + url);
      mesh.geometry.computeVertexNormals();
      mesh.material = this.material;
      this.meshSource = 'glb';
    } catch (err) {
      console.warn('head.glb could not be loaded, using an ellipsoid head:', err);
      mesh = new THREE.Mesh(proceduralHead(), this.material);
      this.meshSource = 'procedural';
    }
    mesh.matrixAutoUpdate = false;
    mesh.matrix.identity();
    this.mesh = mesh;
    this.head.add(mesh);
    this.requestRender();
    return mesh;
  }

  setPose(R, t) {
    const p = toThree(R, t);
    const r = p.R;
    this.pose.matrix.set(
      r[0], r[1], r[2], p.t[0],
      r[3], r[4], r[5], p.t[1],
      r[6], r[7], r[8], p.t[2],
      0, 0, 0, 1,
    );
    this.tz = t[2];
    this.requestRender();
  }

  _updateCamera() {
    // Depth range around the head only, for depth precision far from the camera.
    const z = Math.max(this.tz, 1);
    const near = Math.max(1, 0.5 * (z - 300));
    const far = 2 * z + 1000;
    this.camera.projectionMatrix.fromArray(projectionFromK(this.K, this.width, this.height, near, far));
    this.camera.projectionMatrixInverse.copy(this.camera.projectionMatrix).invert();
  }

  setOpacity(value) { this.material.opacity = value; this.requestRender(); }
  setWireframe(on) { this.material.wireframe = on; this.requestRender(); }
  setAxesVisible(on) { this.axes.visible = on; this.requestRender(); }
  setHeadVisible(on) { if (this.mesh) this.mesh.visible = on; this.requestRender(); }

  /** Test aid: square dots of `size` pixels at head-frame points (mm), drawn
   * through the same pose and projection as the mesh. colors: [[r,g,b] 0..255]. */
  showMarkers(points, colors, size = 5) {
    if (this.markers) { this.head.remove(this.markers); this.markers.geometry.dispose(); }
    this.markers = null;
    if (points && points.length) {
      const g = new THREE.BufferGeometry();
      g.setAttribute('position', new THREE.Float32BufferAttribute(points.flat(), 3));
      g.setAttribute('color', new THREE.Float32BufferAttribute(colors.flat().map((c) => c / 255), 3));
      const m = new THREE.PointsMaterial({ size, sizeAttenuation: false, vertexColors: true, depthTest: false });
      this.markers = new THREE.Points(g, m);
      this.markers.renderOrder = 3;
      this.head.add(this.markers);
    }
    this.requestRender();
  }

  requestRender() {
    if (this._frame) return;
    this._frame = requestAnimationFrame(() => { this._frame = 0; this.renderNow(); });
  }

  renderNow() {
    this._updateCamera();
    this.scene.updateMatrixWorld(true);
    this.renderer.render(this.scene, this.camera);
    this.renderCount += 1;
  }

  rendererInfo() {
    const gl = this.renderer.getContext();
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    return {
      webgl2: typeof WebGL2RenderingContext !== 'undefined' && gl instanceof WebGL2RenderingContext,
      renderer: ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER),
      vendor: ext ? gl.getParameter(ext.UNMASKED_VENDOR_WEBGL) : gl.getParameter(gl.VENDOR),
    };
  }
}

/** Head-frame axes as solid arrows (WebGL lines are 1 px wide): x red (image
 * right at identity), y green (chin), z blue (back of the head), drawn on top. */
function axesGizmo(length) {
  const group = new THREE.Group();
  const axes = [[0xef4444, [1, 0, 0]], [0x22c55e, [0, 1, 0]], [0x3b82f6, [0, 0, 1]]];
  const up = new THREE.Vector3(0, 1, 0);
  for (const [color, dir] of axes) {
    const material = new THREE.MeshBasicMaterial({ color, depthTest: false, transparent: true, opacity: 0.95 });
    const shaft = new THREE.CylinderGeometry(1.6, 1.6, length * 0.8, 12);
    shaft.translate(0, length * 0.4, 0);
    const tip = new THREE.ConeGeometry(4.5, length * 0.2, 16);
    tip.translate(0, length * 0.9, 0);
    const q = new THREE.Quaternion().setFromUnitVectors(up, new THREE.Vector3(...dir));
    for (const g of [shaft, tip]) {
      const m = new THREE.Mesh(g, material);
      m.quaternion.copy(q);
      m.renderOrder = 2;
      group.add(m);
    }
  }
  return group;
}

/** Fallback head when head.glb is missing: the skull ellipsoid of head.json
 * (centre and half axes, head frame, mm) plus a nose, so yaw is visible. */
function proceduralHead() {
  const skull = new THREE.SphereGeometry(1, 32, 24);
  skull.scale(75, 112, 98);
  skull.translate(0, -38, 85);
  const nose = new THREE.ConeGeometry(14, 40, 16);
  nose.rotateX(-Math.PI / 2); // tip toward -z (the nose points to -z)
  nose.translate(0, 0, -22);
  const merged = new THREE.BufferGeometry();
  const parts = [skull.toNonIndexed(), nose.toNonIndexed()];
  const pos = parts.flatMap((p) => Array.from(p.getAttribute('position').array));
  merged.setAttribute('position', new THREE.Float32BufferAttribute(pos, 3));
  merged.computeVertexNormals();
  return merged;
}
