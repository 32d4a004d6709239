import numpy as np
import pytest
from django.core.management import call_command

from annotator.models import Annotation, Image, Split
from tests.core.formats.helpers import get_R, png_bytes
from workers.core import geometry
from workers.core.formats.biwi import write_pose_txt, write_rgb_cal

pytestmark = pytest.mark.django_db

K = np.array([[517.679, 0, 320], [0, 517.679, 240.5], [0, 0, 1]])


@pytest.fixture
def biwi_folder(tmp_path):
    """hpdb/NN/... in the original layout; sequence 12 frame 3 is the documented
    sample (yaw 9.33, pitch -0.40, roll -6.39)."""
    root = tmp_path / "hpdb"
    rng = np.random.default_rng(1)
    for seq in ["01", "05", "12", "20"]:
        d = root / seq
        d.mkdir(parents=True)
        write_rgb_cal(d / "rgb.cal", K, np.eye(3), [0.0, 0.0, 0.0])
        for frame in (3, 4):
            yaw, pitch, roll = (9.33, -0.40, -6.39) if (seq, frame) == ("12", 3) else rng.uniform(-40, 40, 3)
            M = get_R(*np.deg2rad([pitch, -yaw, -roll])).T  # POSE_CONVENTIONS.md: M = get_R(p, -y, -r)^T
            write_pose_txt(d / f"frame_{frame:05d}_pose.txt", M, [10.0, -20.0, 900.0])
            (d / f"frame_{frame:05d}_rgb.png").write_bytes(png_bytes(640, 480, seed=int(seq) * 10 + frame))
    return root


def test_it_imports_the_original_layout_and_builds_the_protocol_splits(biwi_folder):
    call_command("import_biwi", str(biwi_folder), dataset="biwi", verbosity=0)
    assert Image.objects.filter(dataset__name="biwi").count() == 8
    sample = Image.objects.get(file_name__endswith="12/frame_00003_rgb.png")
    assert np.allclose(sample.K_matrix, K)
    gt = Annotation.objects.get(face__image=sample)
    assert np.allclose(geometry.matrix_to_euler(gt.R_matrix), [9.33, -0.40, -6.39], atol=1e-6)
    assert np.allclose(gt.t, [10.0, -20.0, 900.0])
    splits = {s.name: s for s in Split.objects.filter(dataset__name="biwi")}
    assert len(splits["p1"].sample_names) == 8
    train, test = splits["p2-train"], splits["p2-test"]
    assert not set(train.sample_names) & set(test.sample_names)
    assert len(train.sample_names) + len(test.sample_names) == 8
    assert train.definition["seed"] == 0
    assert sorted(train.definition["train_sequences"] + train.definition["test_sequences"]) == ["01", "05", "12", "20"]


def test_a_pose_file_that_is_not_a_rotation_is_a_per_file_error(biwi_folder):
    (biwi_folder / "05" / "frame_00004_pose.txt").write_text("2 0 0\n0 1 0\n0 0 1\n\n0 0 900\n")
    with pytest.raises(Exception, match="1 errors"):
        call_command("import_biwi", str(biwi_folder), dataset="biwi", verbosity=0)
    assert Image.objects.filter(dataset__name="biwi").count() == 7
    assert not Image.objects.filter(file_name__endswith="05/frame_00004_rgb.png").exists()


def test_the_npz_variant_imports_without_pickle(tmp_path):
    images = np.stack(
        [np.frombuffer(np.random.default_rng(i).bytes(64 * 64 * 3), np.uint8).reshape(64, 64, 3) for i in range(3)]
    )
    pose = np.array([[10.0, -5.0, 2.0], [-30.0, 12.0, -4.0], [0.0, 0.0, 0.0]])
    np.savez(tmp_path / "BIWI_test.npz", image=images, pose=pose, img_size=64)
    call_command("import_biwi", str(tmp_path / "BIWI_test.npz"), dataset="biwi-npz", verbosity=0)
    rows = Annotation.objects.filter(face__image__dataset__name="biwi-npz").order_by("face__image__file_name")
    assert np.allclose([geometry.matrix_to_euler(a.R_matrix) for a in rows], pose, atol=1e-9)


def test_an_npz_with_pickled_objects_is_refused(tmp_path):
    np.savez(tmp_path / "evil.npz", image=np.array([object()], dtype=object), pose=np.zeros((1, 3)))
    with pytest.raises(Exception, match=r"failed|errors"):
        call_command("import_biwi", str(tmp_path / "evil.npz"), dataset="evil", verbosity=0)
    assert Image.objects.count() == 0


def test_each_nn_folder_becomes_a_sequence_numbered_as_its_files(biwi_folder):
    from annotator.models import Sequence

    call_command("import_biwi", str(biwi_folder), dataset="biwi", verbosity=0)
    seqs = {s.name: s for s in Sequence.objects.filter(dataset__name="biwi")}
    assert sorted(seqs) == ["01", "05", "12", "20"]
    assert seqs["12"].frame_count == 2 and seqs["12"].fps == 30.0
    frame = Image.objects.get(file_name__endswith="12/frame_00004_rgb.png")
    assert (frame.sequence, frame.frame_index, frame.timestamp_s) == (seqs["12"], 4, pytest.approx(4 / 30))


def test_frames_imported_before_sequences_existed_become_frames_on_a_re_run(biwi_folder):
    from annotator.models import Sequence

    call_command("import_biwi", str(biwi_folder), dataset="biwi", verbosity=0)
    Image.objects.update(sequence=None, frame_index=None, timestamp_s=None)  # as stored before migration 0010
    Sequence.objects.all().delete()
    call_command("import_biwi", str(biwi_folder), dataset="biwi", verbosity=0)
    assert Image.objects.count() == 8 and not Image.objects.filter(sequence__isnull=True).exists()
    assert Sequence.objects.get(name="05").frame_count == 2
