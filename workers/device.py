"""Where torch work runs: CUDA when torch sees a GPU, else the CPU."""


def torch_device() -> str:
    try:
        import torch
    except ImportError:  # torch is optional for the web process
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"
