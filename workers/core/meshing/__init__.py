"""Per-face 3D meshes from landmarks, textured from the photo, exported as GLB,
and the generic head mesh the labeling page renders. Plain numpy/scipy/trimesh.

    from workers.core.meshing import mesh_face
    result = mesh_face(image_bgr, landmarks_2d, landmarks_3d, "ibug68", K,
                       provenance={"landmarks_provenance": "aflw2000-3d"})
    if result.ok: open("face.glb", "wb").write(result.glb_bytes)
"""

from workers.core.meshing.delaunay import (  # noqa: F401
    FaceMeshGeometry,
    backproject,
    build_face_mesh,
    lift_relative_depth,
)
from workers.core.meshing.glb import MeshResult, face_mesh_glb, mesh_face  # noqa: F401
from workers.core.meshing.schemes import IBUG68, MEDIAPIPE468, MeshingError, get_scheme  # noqa: F401
from workers.core.meshing.texture import FaceTexture, face_texture  # noqa: F401
