"""Where torch work runs: CUDA when torch sees a GPU, else the CPU."""

import os


def torch_device() -> str:
    try:
        import torch
    except ImportError:  # torch is optional for the web process
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def configure_torch_threads() -> int:
    """Intra-op threads per process (HEADPOSE_TORCH_THREADS, default 1).

    Workers get their parallelism from processes; several torch thread pools
    spinning on few cores made a MobileNet forward 70x slower here (302 ms with
    2 threads on a loaded 2-core machine, 4.4 ms with 1)."""
    import torch

    n = int(os.environ.get("HEADPOSE_TORCH_THREADS", "1"))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
