"""workers/core/geometry_torch.py agrees with the numpy reference, keeps batch
shapes, device and dtype, and passes gradients."""

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from workers.core import geometry as g
from workers.core import geometry_torch as gt

RNG_SEED = 1234


def rotations(shape, seed=RNG_SEED):
    n = int(np.prod(shape))
    return Rotation.random(n, random_state=seed).as_matrix().reshape(tuple(shape) + (3, 3))


def near_special(shape, seed=RNG_SEED):
    """Rotations at about 0 and 180 degrees, where the formulas switch branch."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    axes = rng.normal(size=(n, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = np.where(rng.random(n) < 0.5, rng.uniform(0, 1e-7, n), math.pi - rng.uniform(0, 1e-7, n))
    return g.axis_angle_to_matrix(axes * angles[:, None]).reshape(tuple(shape) + (3, 3))


def tt(a):
    return torch.as_tensor(np.asarray(a), dtype=torch.float64)


def close(a, b, atol=1e-10):
    np.testing.assert_allclose(
        a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a,
        b.detach().cpu().numpy() if isinstance(b, torch.Tensor) else b,
        atol=atol,
    )


SHAPES = [(64,), (8, 5)]


@pytest.mark.parametrize("shape", SHAPES)
def test_euler(shape):
    rng = np.random.default_rng(0)
    e = np.stack([rng.uniform(-89, 89, shape), rng.uniform(-179, 179, shape), rng.uniform(-179, 179, shape)], -1)
    Rt = gt.euler_to_matrix(tt(e))
    assert Rt.shape == shape + (3, 3)
    close(Rt, g.euler_to_matrix(e))
    close(gt.euler_to_matrix(tt(np.deg2rad(e)), degrees=False), g.euler_to_matrix(e))
    R = rotations(shape)
    close(gt.matrix_to_euler(tt(R)), g.matrix_to_euler(R), atol=1e-8)
    close(gt.matrix_to_euler(tt(R), degrees=False), g.matrix_to_euler(R, degrees=False), atol=1e-10)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("source", [rotations, near_special])
def test_quaternion(shape, source):
    R = source(shape)
    qt = gt.matrix_to_quaternion(tt(R))
    qn = g.matrix_to_quaternion(R)
    assert qt.shape == shape + (4,)
    # at exactly 180 degrees w = 0 and the sign is free; compare up to sign there
    sign = np.where(np.sum(qt.numpy() * qn, -1, keepdims=True) < 0, -1.0, 1.0)
    close(qt.numpy() * sign, qn)
    q = np.random.default_rng(1).normal(size=shape + (4,))
    close(gt.quaternion_to_matrix(tt(q)), g.quaternion_to_matrix(q))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("source", [rotations, near_special])
def test_axis_angle(shape, source):
    R = source(shape)
    vt = gt.matrix_to_axis_angle(tt(R))
    vn = g.matrix_to_axis_angle(R)
    assert vt.shape == shape + (3,)
    # near pi, v and -v are the same rotation: compare the matrices they give too
    flip = np.where(np.sum(vt.numpy() * vn, -1, keepdims=True) < 0, -1.0, 1.0)
    close(vt.numpy() * flip, vn, atol=1e-8)
    close(gt.axis_angle_to_matrix(vt), R, atol=1e-9)
    v = np.random.default_rng(2).normal(size=shape + (3,)) * 2
    v.reshape(-1, 3)[:3] = [[0, 0, 0], [1e-9, 0, 0], [0, 3e-5, 1e-5]]  # the series branch
    close(gt.axis_angle_to_matrix(tt(v)), g.axis_angle_to_matrix(v))


@pytest.mark.parametrize("shape", SHAPES)
def test_sixd(shape):
    R = rotations(shape)
    d6 = gt.matrix_to_sixd(tt(R))
    assert d6.shape == shape + (6,)
    close(d6, g.matrix_to_sixd(R))
    noisy = g.matrix_to_sixd(R) + np.random.default_rng(3).uniform(-0.3, 0.3, shape + (6,))
    close(gt.sixd_to_matrix(tt(noisy)), g.sixd_to_matrix(noisy))


@pytest.mark.parametrize("shape", SHAPES)
def test_geodesic(shape):
    R1, R2 = rotations(shape, 5), rotations(shape, 6)
    d = gt.geodesic_distance(tt(R1), tt(R2))
    assert d.shape == shape
    close(d, g.geodesic_distance(R1, R2), atol=1e-8)
    close(gt.geodesic_distance(tt(R1), tt(R2), degrees=False), g.geodesic_distance(R1, R2, degrees=False))
    S = near_special(shape)  # 0 and 180 degrees, where arccos of the trace is imprecise
    close(gt.geodesic_distance(tt(R1), tt(R1 @ S)), g.geodesic_distance(R1, R1 @ S), atol=1e-8)


@pytest.mark.parametrize("shape", SHAPES)
def test_nearest_rotation(shape):
    M = np.random.default_rng(7).normal(size=shape + (3, 3))
    Rt = gt.nearest_rotation(tt(M))
    assert Rt.shape == shape + (3, 3)
    close(Rt, g.nearest_rotation(M), atol=1e-9)


def test_rotation_mean():
    Rs = rotations((6, 4), 8)  # mean over the first axis, batch of 4 carried through
    w = np.random.default_rng(9).uniform(0.1, 2, 6)
    close(gt.rotation_mean(tt(Rs), tt(w)), g.rotation_mean(Rs, w), atol=1e-9)
    close(gt.rotation_mean(tt(Rs[:, 0])), g.rotation_mean(Rs[:, 0]), atol=1e-9)


@pytest.mark.parametrize("shape", [(), (4,), (3, 2)])
def test_transform_and_project(shape):
    rng = np.random.default_rng(10)
    R = rotations(shape if shape else (1,)).reshape(shape + (3, 3))
    t = np.concatenate([rng.uniform(-50, 50, shape + (2,)), rng.uniform(400, 900, shape + (1,))], -1)
    X = rng.uniform(-100, 100, shape + (7, 3))
    K = np.array([[600.0, 0, 310.5], [0, 650.0, 242.0], [0, 0, 1]])
    Xc = gt.transform(tt(X), tt(R), tt(t))
    assert Xc.shape == shape + (7, 3)
    close(Xc, g.transform(X, R, t))
    uv = gt.project_points(Xc, tt(K))
    assert uv.shape == shape + (7, 2)
    close(uv, g.project_points(g.transform(X, R, t), K), atol=1e-8)
    close(gt.project(tt(X), tt(R), tt(t), tt(K)), g.project(X, R, t, K), atol=1e-8)


def test_accepts_lists_and_numpy_as_float64():
    out = gt.euler_to_matrix([10, 20, 30])
    assert out.dtype == torch.float64
    close(out, g.euler_to_matrix([10, 20, 30]))
    assert gt.geodesic_distance(np.eye(3), np.eye(3)).dtype == torch.float64


def test_float32_stays_float32():
    R = torch.as_tensor(rotations((16,)), dtype=torch.float32)
    for out in (
        gt.matrix_to_quaternion(R),
        gt.matrix_to_sixd(R),
        gt.geodesic_distance(R, R),
        gt.sixd_to_matrix(gt.matrix_to_sixd(R)),
        gt.nearest_rotation(R),
        gt.matrix_to_euler(R),
    ):
        assert out.dtype == torch.float32
    assert float(gt.geodesic_distance(R, R).abs().max()) < 1e-2  # degrees


# ----------------------------------------------------------------- gradients
def test_gradcheck_sixd_to_matrix():
    d6 = tt(g.matrix_to_sixd(rotations((5,))) + np.random.default_rng(11).uniform(-0.3, 0.3, (5, 6)))
    assert torch.autograd.gradcheck(gt.sixd_to_matrix, (d6.requires_grad_(),))


def test_gradcheck_geodesic_distance():
    R1 = tt(rotations((5,), 12)).requires_grad_()
    R2 = tt(rotations((5,), 13)).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: gt.geodesic_distance(a, b, degrees=False), (R1, R2))


def test_geodesic_loss_through_sixd_trains_and_stays_finite_at_identity():
    target = tt(rotations((4,), 14))
    # start 90 degrees away (at 180 the gradient vanishes: the maximum of the angle)
    axes = np.random.default_rng(16).normal(size=(4, 3))
    turn = g.axis_angle_to_matrix(axes / np.linalg.norm(axes, axis=1, keepdims=True) * math.pi / 2)
    d6 = tt(g.matrix_to_sixd(target.numpy() @ turn)).requires_grad_()
    opt = torch.optim.SGD([d6], lr=0.2)
    start = float(gt.geodesic_distance(gt.sixd_to_matrix(d6), target).mean().detach())
    for _ in range(200):
        opt.zero_grad()
        gt.geodesic_distance(gt.sixd_to_matrix(d6), target, degrees=False).mean().backward()
        assert torch.isfinite(d6.grad).all()
        opt.step()
    end = float(gt.geodesic_distance(gt.sixd_to_matrix(d6), target).mean().detach())
    assert end < start / 10
    # exactly at the target (angle 0) the gradient is finite, not NaN
    at = tt(g.matrix_to_sixd(rotations((4,), 14))).requires_grad_()
    gt.geodesic_distance(gt.sixd_to_matrix(at), target).sum().backward()
    assert torch.isfinite(at.grad).all()


def test_axis_angle_gradient_finite_at_zero():
    v = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    gt.axis_angle_to_matrix(v).sum().backward()
    assert torch.isfinite(v.grad).all()
    v = torch.tensor([[1e-6, -2e-6, 3e-6], [0.3, 0.2, -0.1]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(gt.axis_angle_to_matrix, (v,))


# ------------------------------------------------------------------- devices
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_stays_on_cuda_and_agrees():
    R = rotations((32,))
    Rc = torch.as_tensor(R, device="cuda")
    for name in (
        "matrix_to_quaternion",
        "matrix_to_axis_angle",
        "matrix_to_sixd",
        "matrix_to_euler",
        "nearest_rotation",
    ):
        out = getattr(gt, name)(Rc)
        assert out.device.type == "cuda", name
        close(out, getattr(g, name)(R), atol=1e-8)
    d = gt.geodesic_distance(Rc, Rc.flip(0))
    assert d.device.type == "cuda"
    close(d, g.geodesic_distance(R, R[::-1]), atol=1e-8)
    K = np.array([[600.0, 0, 320], [0, 600, 240], [0, 0, 1]])
    uv = gt.project(
        torch.ones(32, 5, 3, device="cuda", dtype=torch.float64),
        Rc,
        torch.tensor([0.0, 0, 500], device="cuda", dtype=torch.float64),
        K,
    )
    assert uv.device.type == "cuda"
    close(uv, g.project(np.ones((32, 5, 3)), R, [0, 0, 500], K), atol=1e-8)


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call",
    [
        lambda: gt.euler_to_matrix(torch.zeros(4, 2)),
        lambda: gt.matrix_to_quaternion(torch.zeros(3)),
        lambda: gt.sixd_to_matrix(torch.zeros(5)),
        lambda: gt.geodesic_distance(torch.eye(3), torch.eye(4)),
        lambda: gt.rotation_mean(torch.eye(3)[None], weights=torch.ones(2)),
        lambda: gt.transform(torch.ones(4, 2), torch.eye(3), torch.zeros(3)),
        lambda: gt.quaternion_to_matrix("not numbers"),
    ],
)
def test_bad_shapes_raise_value_error(call):
    with pytest.raises(gt.GeometryInputError) as info:
        call()
    assert isinstance(info.value, ValueError) and str(info.value)
