// Ghost heads: the other annotators' labels and the proposal, drawn by the
// editor's HeadView (static/js/editor/scene.js) with the same head mesh,
// camera (the image's K) and head frame, each in its own colour. A ghost is the
// mesh's outline and creases (EdgesGeometry: the mask's rim, nose, eyes, lips),
// drawn on top: a full wireframe of the dense mesh reads as a solid blob.
// The labeling page shows the proposals this way too (its outline toggle, G),
// a new set for each face (dispose() the old one; the edges are built once per view).
import * as THREE from 'three';
import { toThree } from '../editor/pose.js';

export class GhostHeads {
  /** view: a HeadView whose head has loaded; poses: [{key, R, t}]; colors: {key: 0xrrggbb}. */
  constructor(view, poses, colors) {
    this.view = view;
    this.groups = new Map();
    if (!view.ghostEdges) view.ghostEdges = new THREE.EdgesGeometry(view.mesh.geometry, 25);
    const edges = view.ghostEdges;
    for (const p of poses) {
      const material = new THREE.LineBasicMaterial({
        color: colors[p.key], transparent: true, opacity: 0.9, depthTest: false, depthWrite: false,
      });
      const pose = new THREE.Group();
      pose.matrixAutoUpdate = false;
      const head = new THREE.Group();
      head.matrixAutoUpdate = false;
      head.matrix.copy(view.head.matrix); // the head frame flip of scene.js
      const lines = new THREE.LineSegments(edges, material);
      lines.matrixAutoUpdate = false;
      lines.renderOrder = 1;
      head.add(lines);
      pose.add(head);
      const { R, t } = toThree(p.R, p.t);
      pose.matrix.set(R[0], R[1], R[2], t[0], R[3], R[4], R[5], t[1], R[6], R[7], R[8], t[2], 0, 0, 0, 1);
      view.scene.add(pose);
      this.groups.set(p.key, pose);
    }
  }

  show(visibleKeys) {
    for (const [key, group] of this.groups) group.visible = visibleKeys.has(key);
    this.view.requestRender();
  }

  /** Take the ghosts out of the scene (the shared edges stay with the view). */
  dispose() {
    for (const group of this.groups.values()) {
      this.view.scene.remove(group);
      group.traverse((o) => { if (o.material) o.material.dispose(); });
    }
    this.groups.clear();
    this.view.requestRender();
  }
}
