from django.core.exceptions import PermissionDenied
from django.http import Http404

from annotator.common import access
from annotator.common import files as stored_files
from annotator.datasets.views import _visible_face
from annotator.proposals.selectors import mesh_of

MESH_DENIED = (
    "The textured mesh's vertices are the face's 3D landmarks in the camera frame, from which its pose "
    "can be computed: only those who read every label of the dataset may have it."
)


def face_mesh_glb(request, pk):
    face = _visible_face(request, pk)
    if not access.may_read_labels(request.user, face.image.dataset_id):
        raise PermissionDenied(MESH_DENIED)
    mesh = mesh_of(face, done=True)
    if mesh is None or not mesh.glb:
        raise Http404("this face has no mesh yet")
    name = f"{face.image.dataset.name}-{face.image.file_name.replace('/', '_')}-face{face.index}.glb"
    return stored_files.file_response(mesh.glb, filename=name, as_attachment=True, content_type="model/gltf-binary")
