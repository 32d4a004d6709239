"""Many faces in a few statements (bulk_create): for the tests that need a dataset
of hundreds or thousands of faces (query counts at two sizes, query plans)."""

from annotator.models import Annotation, Dataset, Face, Image
from workers.core import geometry

R = geometry.euler_to_matrix([10.0, -5.0, 3.0]).reshape(-1).tolist()


def bulk_faces(dataset: Dataset, n: int) -> list[Face]:
    """n more faces (one per image, no file) in name order after the dataset's images."""
    start = Image.objects.filter(dataset=dataset).count()
    images = Image.objects.bulk_create(
        Image(
            dataset=dataset,
            file_name=f"img{i:05d}.png",
            file=f"images/{dataset.pk}-{i}.png",
            width=320,
            height=240,
            size_bytes=1,
            checksum=f"{dataset.pk}-{i}",
            K=[300.0, 0, 160.0, 0, 300.0, 120.0, 0, 0, 1],
        )
        for i in range(start, start + n)
    )
    return Face.objects.bulk_create(Face(image=im, box=[10, 10, 100, 100]) for im in images)


def bulk_labels(faces, author, **fields_of) -> None:
    """An accepted label of each face by `author`; fields_of[name](i) sets a field of the i-th."""
    Annotation.objects.bulk_create(
        Annotation(
            face=f,
            dataset_id=f.image.dataset_id,
            origin="annotator",
            author=author,
            R=R,
            t=[0.0, 0.0, 700.0],
            **{"status": "accepted", **{name: of(i) for name, of in fields_of.items()}},
        )
        for i, f in enumerate(faces)
    )
