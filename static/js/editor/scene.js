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
      canvas, alpha: true, antialias: true, preserveDrawingBuffer: true, premultipliedAlpha: false,
    });
    this.renderer.setPixelRatio(1); // the drawing buffer is the image's pixel grid
    this.renderer.setSize(width, height, false);
    this.renderer.setClearColor(0x000000, 0);
    this.scene = new THREE.Scene();
    this.camera = new THREE.PerspectiveCamera();
    this.camera.matrixAutoUpdate = false;
    this.camera.matrixWorldAutoUpdate = false;

    this.scene.add(new THREE.AmbientLight(0xffffff, 1.4));
    const key = new THREE.DirectionalLight(0xffffff, 1.8);
    key.position.set(0.3, 0.6, 1); // from the camera side, slightly above
    this.scene.add(key);

    this.pose = new THREE.Group(); // [F R F | F t]
    this.pose.matrixAutoUpdate = false;
    this.head = new THREE.Group(); // head frame (y chin, z back)
    this.head.matrixAutoUpdate = false;
    this.head.matrix.copy(F4);
    this.pose.add(this.head);
    this.scene.add(this.pose);

    this.material = new THREE.MeshLambertMaterial({
      color: 0x9fd3ff, transparent: true, opacity: 0.55, side: THREE.FrontSide, depthWrite: true,
    });
    this.axes = new THREE.AxesHelper(90); // x red, y green (chin), z blue (back of the head)
    this.axes.material.depthTest = false;
    this.axes.renderOrder = 2;
    this.head.add(this.axes);
    this.markers = null;
    this.mesh = null;
    this._frame = 0;
    this.renderCount = 0;
    this.tz = 1000;
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
