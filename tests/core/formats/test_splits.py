import numpy as np
import pytest

from workers.core.formats import biwi, splits
from workers.core.formats.splits import SplitError


def test_aflw2000_p1_threshold():
    names = ["a", "b", "c", "d", "e"]
    euler = [[10, 20, 30], [99.0, -99.0, 0], [-99.01, 0, 0], [0, 120, 0], [0, 0, -179]]
    s = splits.aflw2000_p1(names, euler)
    assert s.test == ["a", "b"] and s.train == []
    assert s.info["dropped"] == ["c", "d", "e"]
    with pytest.raises(SplitError, match="2 names but 5"):
        splits.aflw2000_p1(names[:2], euler)


def test_the_angle_filter_keeps_every_angle_up_to_the_limit_inclusive():
    euler = [[10, 20, 30], [99.0, -99.0, 0], [-99.01, 0, 0], [0, 120, 0], [0, 0, -179]]
    assert splits.within_max_abs_angle(euler, splits.P1_MAX_ABS_DEG).tolist() == [True, True, False, False, False]
    assert splits.within_max_abs_angle([[0, 0, 30]], 20.0).tolist() == [False]
    assert splits.within_max_abs_angle(np.zeros((0, 3)), 99.0).tolist() == []


def test_aflw2000_p1_on_real_samples(aflw_samples_dir):
    from workers.core.formats import aflw2000

    recs = list(aflw2000.iter_samples(aflw_samples_dir))
    euler = [np.rad2deg(r.faces[0].extra["pose_para"][[1, 0, 2]]) for r in recs]
    s = splits.aflw2000_p1([r.name for r in recs], euler)
    # the ten samples are all within +-50 degrees
    assert len(s.test) == 10 and s.info["dropped"] == []


@pytest.fixture
def protocol1(shared_dir):
    return biwi.read_protocol1_list(shared_dir / "data/biwi/protocol1_annotations.txt")


def test_biwi_p1_and_seeded_p2_at_full_scale(protocol1):
    names, _euler = protocol1
    p1 = splits.biwi_p1(names)
    assert len(p1.test) == 13219 and p1.train == []
    seqs = [biwi.sequence_of(n) for n in names]
    p2 = splits.biwi_p2(seqs, seed=7)
    assert len(p2.train) == 16 and len(p2.test) == 8 and p2.seed == 7
    assert sorted(p2.train + p2.test) == sorted(set(seqs))
    assert splits.biwi_p2(seqs, seed=7) == p2  # deterministic
    assert any(splits.biwi_p2(seqs, seed=k).train != p2.train for k in range(8, 12))
    train, test = splits.frames_by_sequence(names, p2, biwi.sequence_of)
    assert len(train) + len(test) == 13219
    assert {biwi.sequence_of(n) for n in train} == set(p2.train)
    assert {biwi.sequence_of(n) for n in test} == set(p2.test)
    # a 70/30 split by sequence gives roughly 70/30 of the frames
    assert 0.55 < len(train) / 13219 < 0.85


def test_biwi_p2_needs_sequences():
    with pytest.raises(SplitError, match="at least 2"):
        splits.biwi_p2(["01"], seed=0)


def test_custom_split(protocol1):
    names, _ = protocol1
    text = "# my test set\n12/frame_00003_rgb.png\n\n01/frame_00004_rgb.png\n"
    s = splits.custom_split(names, test=splits.read_name_list(text))
    assert s.test == ["12/frame_00003_rgb.png", "01/frame_00004_rgb.png"]
    with pytest.raises(SplitError, match=r"2 unknown file name\(s\).*99/frame_00001_rgb.png"):
        splits.custom_split(names, test=["12/frame_00003_rgb.png", "99/frame_00001_rgb.png", "x.png"])
    with pytest.raises(SplitError, match="both train and test"):
        splits.custom_split(names, test=names[:2], train=names[1:3])
