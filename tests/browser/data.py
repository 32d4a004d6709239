"""Small labeling datasets built in the test database (shared by the web and
browser tests of the labeling page)."""

import hashlib

import cv2
import numpy as np
from django.core.files.base import ContentFile

from annotator.models import Dataset, Face, Image, Proposal
from workers.core import geometry


def png_bytes(width: int, height: int, seed: int = 0) -> bytes:
    """A plain grey gradient (no face: the pose math, not the picture, is tested)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([60 + 80 * x / max(width - 1, 1), 70 + 60 * y / max(height - 1, 1), np.full_like(x, 90.0)], -1)
    img += rng.normal(0, 2, img.shape)
    ok, buf = cv2.imencode(".png", np.clip(img, 0, 255).astype(np.uint8))
    assert ok
    return buf.tobytes()


def make_image(dataset, name: str, width: int = 320, height: int = 240, K=None, with_file: bool = False, seed: int = 0):
    K = geometry.default_intrinsics(width, height) if K is None else np.asarray(K, dtype=np.float64)
    data = png_bytes(width, height, seed) if with_file else name.encode()
    image = Image(
        dataset=dataset,
        file_name=name,
        width=width,
        height=height,
        size_bytes=len(data),
        checksum=hashlib.sha256(data + name.encode()).hexdigest(),
        K=K.reshape(-1).tolist(),
    )
    if with_file:
        image.file.save(name, ContentFile(data), save=False)
    else:
        image.file.name = name
    image.save()
    return image


def make_dataset(
    name: str = "lab",
    n_faces: int = 3,
    overlap: int = 1,
    with_files: bool = False,
    width: int = 320,
    height: int = 240,
    K=None,
) -> Dataset:
    dataset = Dataset.objects.create(name=name, overlap=overlap)
    for i in range(n_faces):
        image = make_image(dataset, f"img{i:03d}.png", width, height, K=K, with_file=with_files, seed=i)
        Face.objects.create(image=image, box=[width * 0.3, height * 0.25, width * 0.7, height * 0.8])
    return dataset


def add_proposal(face, proposer: str, euler=(10.0, -5.0, 3.0), t=(5.0, -10.0, 700.0), version: str = "1"):
    return Proposal.objects.create(
        face=face,
        proposer=proposer,
        proposer_version=version,
        weights_sha256="0" * 64,
        R=geometry.euler_to_matrix(list(euler)).reshape(-1).tolist(),
        t=list(t),
        score=0.9,
    )
