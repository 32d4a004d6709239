"""6DRepNet and HopeNet: architectures, checkpoint layouts, output conventions.

Their weights are not in ../shared, so the networks are checked with random
weights saved in the published key layout, and against figures from the papers:
RepVGG-B1g2 has 41.36 M parameters with its 1000-class head (RepVGG paper,
Table), ResNet-50 25,557,032 (torchvision's count of He et al.'s network).
"""

import numpy as np
import pytest
import torch

from workers.core import geometry
from workers.core.proposers import MissingWeightsError, create_proposer, hopenet, sixdrepnet
from workers.core.proposers.parts.detection import DetectedFace


def _rx(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _face_image():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    face = DetectedFace(box=(100.0, 60.0, 200.0, 180.0), score=0.9, keypoints=np.zeros((6, 2)))
    return img, face


def _params(net, head_prefix):
    return sum(p.numel() for k, p in net.named_parameters() if not k.startswith(head_prefix))


# ---------------------------------------------------------------- 6DRepNet


def test_repvgg_b1g2_size_and_key_layout():
    net = sixdrepnet.build_network()
    assert _params(net, "linear_reg") + 2048 * 1000 + 1000 == 41_360_104  # 41.36 M in the paper
    sd = net.state_dict()
    assert sd["layer0.rbr_reparam.weight"].shape == (64, 3, 3, 3)
    assert sd["layer1.0.rbr_reparam.weight"].shape == (128, 64, 3, 3)
    assert sd["layer1.1.rbr_reparam.weight"].shape == (128, 64, 3, 3)  # block 2: 2 groups
    assert sd["layer3.15.rbr_reparam.weight"].shape == (512, 256, 3, 3)  # block 26: 2 groups
    assert sd["layer3.14.rbr_reparam.weight"].shape == (512, 512, 3, 3)  # block 25: dense
    assert sd["layer4.0.rbr_reparam.weight"].shape == (2048, 512, 3, 3)
    assert sd["linear_reg.weight"].shape == (6, 2048)
    assert {k.split(".")[0] for k in sd} == {"layer0", "layer1", "layer2", "layer3", "layer4", "linear_reg"}


def test_sixdrepnet_output_convention_is_get_R_transposed_and_flipped():
    """6DRepNet's ground truth is get_R(pitch, yaw, roll) = Rz(roll) Ry(yaw) Rx(pitch)
    (its code, written out here); ours must read the same angles back."""
    rng = np.random.default_rng(3)
    for yaw, pitch, roll in rng.uniform([-80, -60, -60], [80, 60, 60], (20, 3)):
        M = _rz(np.radians(roll)) @ _ry(np.radians(yaw)) @ _rx(np.radians(pitch))
        d6 = np.concatenate([M[:, 0], M[:, 1]]) * rng.uniform(0.5, 2)  # unnormalised, as a network outputs
        own = sixdrepnet.sixd_to_own_matrix(d6[None])[0]
        np.testing.assert_allclose(own, M, atol=1e-12)
        R = sixdrepnet.own_matrix_to_camera(own[None])[0]
        np.testing.assert_allclose(geometry.matrix_to_euler(R), [yaw, pitch, roll], atol=1e-9)


def _save_random(net, path, wrap=None, rename=None):
    torch.manual_seed(0)
    for p in net.parameters():
        torch.nn.init.normal_(p, 0, 0.02)
    sd = net.state_dict()
    if rename:
        sd = {rename(k): v for k, v in sd.items()}
    torch.save({wrap: sd} if wrap else sd, path)
    return net


def test_sixdrepnet_loads_by_path_and_proposes_a_rotation(tmp_path):
    path = tmp_path / "6drepnet" / "6DRepNet_300W_LP_AFLW2000.pth"
    path.parent.mkdir()
    ref = _save_random(sixdrepnet.build_network().eval(), path)
    p = create_proposer("6drepnet", weights_dir=tmp_path)
    img, face = _face_image()
    out = p.propose_faces([img], [geometry.default_intrinsics(320, 240)], [[face]])
    assert len(out[0]) == 1 and geometry.is_rotation(out[0][0].R)
    # same numbers as the network that wrote the file
    x = sixdrepnet.imagenet_crops([img], [(0, face)])
    with torch.no_grad():
        d6 = ref(torch.from_numpy(x)).numpy()
    expected = sixdrepnet.own_matrix_to_camera(sixdrepnet.sixd_to_own_matrix(d6))[0]
    np.testing.assert_allclose(out[0][0].R, expected, atol=1e-5)


def test_sixdrepnet_accepts_other_published_wrappings_and_refuses_training_form(tmp_path):
    net = sixdrepnet.build_network()
    p1 = tmp_path / "a.pth"
    _save_random(
        net,
        p1,
        wrap="model_state_dict",
        rename=lambda k: "module." + k.replace("layer", "stage", 1) if k.startswith("layer") else "module." + k,
    )
    sixdrepnet.load_network(p1)
    p2 = tmp_path / "b.pth"
    torch.save({"layer0.rbr_dense.conv.weight": torch.zeros(64, 3, 3, 3)}, p2)
    with pytest.raises(ValueError, match="training form"):
        sixdrepnet.load_network(p2)
    p3 = tmp_path / "c.pth"
    sd = net.state_dict()
    sd.pop("linear_reg.bias")
    torch.save(sd, p3)
    with pytest.raises(RuntimeError):  # strict: a missing key is an error
        sixdrepnet.load_network(p3)


# ---------------------------------------------------------------- HopeNet


def test_hopenet_is_resnet50_with_three_66_bin_heads():
    net = hopenet.build_network()
    assert _params(net, "fc_") + 2048 * 1000 + 1000 == 25_557_032
    sd = net.state_dict()
    for k in (
        "conv1.weight",
        "bn1.running_var",
        "layer1.0.conv1.weight",
        "layer1.0.downsample.0.weight",
        "layer1.0.downsample.1.running_mean",
        "layer4.2.bn3.weight",
        "fc_yaw.weight",
        "fc_pitch.weight",
        "fc_roll.weight",
    ):
        assert k in sd, k
    assert sd["fc_yaw.weight"].shape == (66, 2048)
    assert sd["layer2.0.conv2.weight"].shape == (128, 128, 3, 3)


def test_hopenet_bin_expectation():
    logits = np.full((3, 66), -1e9)
    logits[0, 33] = 0  # bin 33 -> 33 * 3 - 99 = 0 deg
    logits[1, 0] = 0  # -99
    logits[2, [10, 11]] = 0  # half-way between bins 10 and 11 -> 10.5 * 3 - 99 = -67.5
    np.testing.assert_allclose(hopenet.bins_to_degrees(logits), [0, -99, -67.5])
    np.testing.assert_allclose(hopenet.bins_to_degrees(np.zeros((1, 66))), [32.5 * 3 - 99])


def test_hopenet_loads_by_path_and_proposes_a_rotation(tmp_path):
    path = tmp_path / "hopenet" / "hopenet_robust_alpha1.pkl"
    path.parent.mkdir()
    net = _save_random(hopenet.build_network().eval(), path)
    sd = torch.load(path, weights_only=True)
    sd["fc_finetune.weight"] = torch.zeros(3, 2051)  # the published file carries this unused head
    sd["fc_finetune.bias"] = torch.zeros(3)
    torch.save(sd, path)
    p = create_proposer("hopenet", weights_dir=tmp_path)
    img, face = _face_image()
    out = p.propose_faces([img], [geometry.default_intrinsics(320, 240)], [[face]])
    assert len(out[0]) == 1 and geometry.is_rotation(out[0][0].R)
    x = sixdrepnet.imagenet_crops([img], [(0, face)])
    with torch.no_grad():
        heads = [h.numpy() for h in net(torch.from_numpy(x))]
    euler = [hopenet.bins_to_degrees(h)[0] for h in heads]
    np.testing.assert_allclose(geometry.matrix_to_euler(out[0][0].R), euler, atol=1e-3)


@pytest.mark.parametrize(
    "name,file", [("6drepnet", "6DRepNet_300W_LP_AFLW2000.pth"), ("hopenet", "hopenet_robust_alpha1.pkl")]
)
def test_missing_weights_name_the_file(tmp_path, name, file):
    with pytest.raises(MissingWeightsError, match=file):
        create_proposer(name, weights_dir=tmp_path)
    module = sixdrepnet if name == "6drepnet" else hopenet
    with pytest.raises(MissingWeightsError, match=file):
        module.load_network(tmp_path / file)


def test_cuda_device_when_available(tmp_path):
    path = tmp_path / "6drepnet" / "6DRepNet_300W_LP_AFLW2000.pth"
    path.parent.mkdir()
    _save_random(sixdrepnet.build_network(), path)
    p = create_proposer("6drepnet", weights_dir=tmp_path, device="cuda")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert p.device == expected and next(p.net.parameters()).device.type == expected
