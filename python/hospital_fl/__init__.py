"""Hospital FL checkpoints in PyTorch: the models of fl-worker's registry and a loader.

    import sys; sys.path.insert(0, "python")      # from the repository root
    from hospital_fl import load_model; model = load_model("state/model-v000010.safetensors")
"""
from .checkpoint import CheckpointError, build_model, load_model, read_checkpoint
from .models import MODEL_NAMES, SEGMENTATION_MODELS

__all__ = ["CheckpointError", "build_model", "load_model", "read_checkpoint", "MODEL_NAMES", "SEGMENTATION_MODELS"]
