"""A sequence in the test database: frames (images with a frame index), one face
per frame where the synthetic detector found it, and its raw proposals
(workers/core/tracking/synthetic.py: a known trajectory, noise, blunders, gaps)."""

from annotator.models import Dataset, Face, Proposal, Sequence
from tests.browser.data import make_image
from workers.core.tracking.synthetic import make_sequence

PROPOSER = "landmarks-fit"


def make_sequence_dataset(
    name: str = "clips",
    n_frames: int = 40,
    seed: int = 0,
    with_files: bool = False,
    fps: float = 25.0,
    width: int = 320,
    height: int = 240,
    **synthetic,
):
    """(dataset, sequence, the SyntheticSequence with its truth)."""
    dataset = Dataset.objects.create(name=name, kind=Dataset.Kind.VIDEO)
    sequence = Sequence.objects.create(dataset=dataset, name="drive", fps=fps, frame_count=n_frames)
    truth = make_sequence(n=n_frames, fps=fps, seed=seed, **synthetic)
    for i, proposal in enumerate(truth.proposals):
        image = make_image(dataset, f"drive/frame_{i:06d}.png", width, height, with_file=with_files, seed=i)
        image.sequence, image.frame_index, image.timestamp_s = sequence, i, i / fps
        image.save()
        if proposal is not None:
            x = (width - 120) * (0.3 + 0.2 * (i % 50) / 50)
            face = Face.objects.create(image=image, box=[x, height * 0.25, x + 120, height * 0.25 + 140])
            Proposal.objects.create(
                face=face,
                proposer=PROPOSER,
                proposer_version="1",
                weights_sha256="0" * 64,
                R=proposal[0].reshape(-1).tolist(),
                t=proposal[1].tolist(),
                score=0.9,
            )
    return dataset, sequence, truth


def sequence_of(objects: dict) -> Sequence:
    """The permission tables' world: the dataset's image as frame 0 of a sequence (made once)."""
    image = objects["image"]
    sequence, _ = Sequence.objects.get_or_create(dataset=objects["dataset"], name="take", defaults={"fps": 25.0})
    if image.sequence_id != sequence.pk:
        image.sequence, image.frame_index, image.timestamp_s = sequence, 0, 0.0
        image.save(update_fields=["sequence", "frame_index", "timestamp_s"])
    return sequence
