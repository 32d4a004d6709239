// The face page's mesh viewer: the face's textured GLB (camera-frame mm,
// OpenCV axes) either posed over the photo with the image's K, or turned
// freely in a small orbit view. Exposes window.faceMeshViewer for tests.
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { projectionFromK } from "../editor/camera.js";

const data = JSON.parse(document.getElementById("face-data").textContent);

function unlit(root) {
  // A photo texture must not be shaded: swap the GLB's PBR material for a basic one.
  root.traverse((o) => {
    if (o.isMesh) {
      o.material = new THREE.MeshBasicMaterial({ map: o.material.map, side: THREE.DoubleSide });
    }
  });
}

function countVertices(root) {
  let n = 0;
  root.traverse((o) => { if (o.isMesh) n += o.geometry.attributes.position.count; });
  return n;
}

function posedView(gltfScene) {
  const canvas = document.getElementById("mesh-posed-canvas");
  const renderer = new THREE.WebGLRenderer({ canvas, alpha: true, antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(data.width, data.height, false);
  const camera = new THREE.PerspectiveCamera();
  camera.projectionMatrix.fromArray(projectionFromK(data.K, data.width, data.height, 10, 100000));
  camera.projectionMatrixInverse.copy(camera.projectionMatrix).invert();
  const scene = new THREE.Scene();
  const opencv = new THREE.Group();
  opencv.rotation.x = Math.PI; // OpenCV (y down, z forward) -> three.js (y up, z back): F = diag(1,-1,-1)
  opencv.add(gltfScene);
  scene.add(opencv);
  const render = () => renderer.render(scene, camera);
  render();
  document.getElementById("mesh-opacity").addEventListener("input", (e) => {
    canvas.style.opacity = e.target.value;
  });
  document.getElementById("mesh-wireframe").addEventListener("change", (e) => {
    gltfScene.traverse((o) => { if (o.isMesh) o.material.wireframe = e.target.checked; });
    render();
  });
  return render;
}

function orbitView(gltfScene) {
  const canvas = document.getElementById("mesh-orbit-canvas");
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: true });
  renderer.setSize(canvas.clientWidth, canvas.clientHeight, false);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0x1f2937);
  const pivot = new THREE.Group();
  const opencv = new THREE.Group();
  opencv.rotation.x = Math.PI;
  opencv.add(gltfScene);
  const box = new THREE.Box3().setFromObject(opencv);
  const centre = box.getCenter(new THREE.Vector3());
  const size = box.getSize(new THREE.Vector3()).length();
  opencv.position.sub(centre);
  pivot.add(opencv);
  scene.add(pivot);
  const camera = new THREE.PerspectiveCamera(35, canvas.clientWidth / canvas.clientHeight, size / 100, size * 10);
  camera.position.set(0, 0, size * 1.6);
  const render = () => renderer.render(scene, camera);
  let last = null;
  canvas.addEventListener("pointerdown", (e) => { last = [e.clientX, e.clientY]; canvas.setPointerCapture(e.pointerId); });
  canvas.addEventListener("pointerup", () => { last = null; });
  canvas.addEventListener("pointermove", (e) => {
    if (!last) return;
    pivot.rotation.y += (e.clientX - last[0]) * 0.01;
    pivot.rotation.x += (e.clientY - last[1]) * 0.01;
    last = [e.clientX, e.clientY];
    render();
  });
  render();
  return render;
}

const loaded = data.glb_url
  ? new GLTFLoader().loadAsync(data.glb_url).then((gltf) => {
      unlit(gltf.scene);
      const vertexCount = countVertices(gltf.scene);
      const posed = gltf.scene.clone();
      posed.traverse((o) => { if (o.isMesh) o.material = o.material.clone(); });
      posedView(posed);
      orbitView(gltf.scene);
      document.getElementById("mesh-status").textContent = `${vertexCount} vertices loaded`;
      return { vertexCount };
    })
  : Promise.resolve({ vertexCount: 0 });

window.faceMeshViewer = { loaded };
