"""Reading the federation's checkpoints (docs/checkpoints.md) into torch models.

A checkpoint is a safetensors file of float32 tensors whose metadata names the model and
holds the training plan; the input size and the number of classes follow from the tensor
shapes, so the file alone rebuilds its model.
"""
import json
import struct

import numpy as np
import torch

from . import models

_MAX_HEADER = 100 * 1024 * 1024


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint of a known model."""


def read_checkpoint(path):
    """Returns (tensors, metadata): an ordered dict of name -> float32 torch.Tensor in the
    file's data order, and the metadata as a dict of strings. A file that is not a
    well-formed float32 safetensors file raises CheckpointError."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise CheckpointError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > min(_MAX_HEADER, len(raw) - 8):
        raise CheckpointError(f"{path}: header length {n} does not fit the file")
    try:
        header = json.loads(raw[8:8 + n])
    except ValueError as e:
        raise CheckpointError(f"{path}: header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: header is not a JSON object")
    metadata = header.pop("__metadata__", {}) or {}
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{path}: __metadata__ is not an object")
    data = memoryview(raw)[8 + n:]
    try:
        entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
        tensors, expected_begin = {}, 0
        for name, info in entries:
            if info.get("dtype") != "F32":
                raise CheckpointError(f"{path}: tensor {name} is {info.get('dtype')}, expected F32")
            begin, end = (int(v) for v in info["data_offsets"])
            shape = [int(s) for s in info["shape"]]
            if begin != expected_begin or end < begin or end > len(data) or \
                    end - begin != 4 * int(np.prod(shape, dtype=np.int64)) or any(s < 0 for s in shape):
                raise CheckpointError(f"{path}: tensor {name} has offsets {begin}..{end} that do not fit its "
                                      f"shape {shape} or follow the previous tensor")
            tensors[name] = torch.from_numpy(np.frombuffer(data[begin:end], dtype="<f4").reshape(shape).copy())
            expected_begin = end
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"{path}: malformed tensor entry: {e!r}") from None
    if expected_begin != len(data):
        raise CheckpointError(f"{path}: {len(data) - expected_begin} bytes after the last tensor")
    return tensors, metadata


def _plan(metadata, path):
    if "plan" not in metadata:
        raise CheckpointError(f"{path} has no training plan in its metadata")
    return json.loads(metadata["plan"])


def _shape(tensors, name, path):
    if name not in tensors:
        raise CheckpointError(f"{path}: no tensor {name}; is it a checkpoint of this model?")
    return list(tensors[name].shape)


def build_model(name, model_plan, tensors, path="checkpoint"):
    """The registry's model `name` with the sizes that fit `tensors` (weights not loaded)."""
    dropout = float(model_plan.get("dropout", 0.0))
    if name == "logreg":
        classes, features = _shape(tensors, "fc.weight", path)
        return models.LogReg(features, classes)
    if name == "mlp":
        hidden = [int(h) for h in model_plan.get("hidden", [])]
        features = _shape(tensors, "fc1.weight", path)[1] if hidden else _shape(tensors, "out.weight", path)[1]
        classes = _shape(tensors, "out.weight", path)[0]
        return models.Mlp(features, hidden, classes, dropout)
    if name == "cnn":
        c, in_channels = _shape(tensors, "conv1.weight", path)[:2]
        return models.SmallCnn(in_channels, _shape(tensors, "out.weight", path)[0], c, dropout)
    if name == "resnet":
        c, in_channels = _shape(tensors, "stem.weight", path)[:2]
        return models.ResNet(in_channels, _shape(tensors, "fc.weight", path)[0], c, dropout)
    if name == "unet":
        first = _shape(tensors, "down.0.seq.0.weight", path)
        c, in_channels = first[:2]
        classes = _shape(tensors, "head.weight", path)[0]
        depth = int(model_plan.get("depth", 4))
        return models.UNet(in_channels, classes, c, depth, dropout, three_d=len(first) == 5)
    raise CheckpointError(f"{path}: unknown model '{name}' (known: {', '.join(models.MODEL_NAMES)})")


HEADS = {"logreg": "fc", "mlp": "out", "cnn": "out", "resnet": "fc", "unet": "head"}


def _is_personal(method, model, name):
    """Whether tensor `name` of `model` is kept at the hospitals under personalization `method`."""
    if method == "fedbn":
        return "norm" in name or ".seq.1." in name or ".seq.4." in name  # the GroupNorm layers
    if method == "fedrep":
        return name.split(".")[0] == HEADS.get(model)
    return False


def _load_decoupled(path, tensors, plan, personal, device):
    """Decoupled prediction: the global model gives the generic prediction; with a centre's
    personal model (or that file itself) the centre's local prediction."""
    if personal is not None:
        own, own_metadata = read_checkpoint(personal)
        if own_metadata.get("personalization") != "decoupled":
            raise CheckpointError(f"{personal} is not a personal model of a decoupled federation")
        tensors.update({k: v for k, v in own.items() if k.startswith("dan.")})
    local = any(k.startswith("dan.") for k in tensors)
    model_plan = plan.get("model", {})
    first = _shape(tensors, "unet.down.0.seq.0.weight", path)
    classes = _shape(tensors, "comb.4.weight", path)[0]
    latent = int(plan.get("personalization", {}).get("latent_dim", 8))
    model = models.DecoupledUNet(first[1], classes, first[0], int(model_plan.get("depth", 4)), latent,
                                 float(model_plan.get("dropout", 0.0)), local_prediction=local)
    expected = dict(model.named_parameters())
    if not local:  # the generic prediction never reads the adaptation network
        tensors.update({k: v.detach().clone() for k, v in expected.items() if k.startswith("dan.")})
    if set(expected) != set(tensors):
        raise CheckpointError(f"{path} does not fit the decoupled U-Net: missing {sorted(set(expected) - set(tensors))[:5]},"
                              f" unexpected {sorted(set(tensors) - set(expected))[:5]}")
    for key, value in tensors.items():
        if tuple(expected[key].shape) != tuple(value.shape):
            raise CheckpointError(f"{path}: tensor {key} has shape {list(value.shape)}, the model needs "
                                  f"{list(expected[key].shape)}")
    model.load_state_dict(tensors, strict=True)
    return model.to(device).eval()


def load_model(path, device="cpu", personal=None):
    """The checkpoint's model with its weights, in eval mode: an nn.Module that maps a batch
    prepared as fl-worker prepares it ([B, F] table rows, [B, C, H, W] images, [B, C, D, H, W]
    volumes) to logits ([B, K], or per pixel [B, K, H, W] / per voxel).

    The global model of a federation with personal tensors (plan personalization fedbn or
    fedrep) holds the shared tensors only: `personal` (a hospital's
    personal-model.safetensors) completes it; FedBN's global model alone takes GroupNorm's
    initial weights (1) and biases (0), as fl-worker does."""
    tensors, metadata = read_checkpoint(path)
    plan = _plan(metadata, path)
    model_plan = plan.get("model", {})
    name = metadata.get("model", model_plan.get("name"))
    method = plan.get("personalization", {}).get("method", "none")
    if method == "decoupled":
        return _load_decoupled(path, tensors, plan, personal, device)
    if personal is not None:
        if method not in ("fedbn", "fedrep"):
            raise CheckpointError(f"{path} is a whole model (personalization {method}): load a hospital's personal "
                                  "model as the checkpoint itself, without personal=")
        own, own_metadata = read_checkpoint(personal)
        if own_metadata.get("personalization") != method:
            raise CheckpointError(f"{personal} is not a personal model of a {method} federation")
        for key, value in own.items():
            if _is_personal(method, name, key):
                tensors[key] = value
    elif method == "fedrep" and not any(_is_personal(method, name, k) for k in tensors):
        raise CheckpointError(f"{path} is a FedRep global model without the head each hospital keeps: "
                              "pass personal=<a hospital's personal-model.safetensors>")
    model = build_model(name, model_plan, tensors, path)
    expected = dict(model.named_parameters())
    if method == "fedbn" and personal is None:
        for key in expected:
            if key not in tensors and _is_personal(method, name, key):
                tensors[key] = expected[key].detach().clone()  # GroupNorm's initial values
    if set(expected) != set(tensors):
        missing = sorted(set(expected) - set(tensors))
        extra = sorted(set(tensors) - set(expected))
        raise CheckpointError(f"{path} does not fit model {name}: missing {missing[:5]}, unexpected {extra[:5]}")
    for key, value in tensors.items():
        if tuple(expected[key].shape) != tuple(value.shape):
            raise CheckpointError(
                f"{path}: tensor {key} has shape {list(value.shape)}, model {name} needs {list(expected[key].shape)}")
    model.load_state_dict(tensors, strict=True)
    model.model_version = int(metadata["model_version"]) if "model_version" in metadata else None
    return model.to(device).eval()
