"""Reading and writing DIR-7 model files (safetensors, contract section 8)."""
import json
import struct

import numpy as np
import torch

from .config import Dir7Config, FORMAT_VERSION
from .unet import Dir7Model

DTYPES = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2),
          "I8": (torch.int8, 1)}
TORCH_TO_NAME = {v[0]: k for k, v in DTYPES.items()}
# an I8 tensor's per-row scale is the tensor "<name>_scale" (docs/model-contract.md, section 8)
SCALE_SUFFIX = "_scale"
INT8_MIN_NUMEL = 4096   # smaller tensors (norms, biases, LoRA vectors) stay as they are


def quantize_int8(tensors, min_numel=INT8_MIN_NUMEL):
    """name -> tensor, with every tensor of two or more dimensions and at least min_numel
    values as I8 plus its scale "<name>_scale" (F32, one per row, the index of the first
    dimension): value = int8 * scale, scale = the row's largest magnitude / 127."""
    out = {}
    for name, t in tensors.items():
        if t.dim() < 2 or t.numel() < min_numel:
            out[name] = t
            continue
        rows = t.detach().float().reshape(t.shape[0], -1)
        scale = rows.abs().amax(1) / 127
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))   # an all-zero row stays zero
        out[name] = torch.round(rows / scale[:, None]).clamp(-127, 127).to(torch.int8).reshape(t.shape)
        out[name + SCALE_SUFFIX] = scale
    return out


def dequantize_int8(tensors, dtypes):
    """read_safetensors' float tensors with each I8 one (dtypes: name -> dtype name) times
    its per-row scale, and the scales gone"""
    out = dict(tensors)
    for name, dt in dtypes.items():
        if dt != "I8":
            continue
        scale = out.pop(name + SCALE_SUFFIX, None)
        q = out[name]
        if scale is None or q.dim() == 0 or list(scale.shape) != [q.shape[0]]:
            raise ValueError(f"I8 tensor {name} needs a scale {name}{SCALE_SUFFIX} of shape [{q.shape[0] if q.dim() else '?'}]")
        out[name] = q * scale.reshape(-1, *[1] * (q.dim() - 1))
    return out


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> torch tensor (any of DTYPES). Header padded to 8 bytes."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": TORCH_TO_NAME[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def read_stored(path):
    """-> (dict name -> tensor in its stored dtype, I8 ones with their scales apart,
    metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, e in header.items():
        dt, size = DTYPES[e["dtype"]]
        b, en = e["data_offsets"]
        buf = bytearray(data[base + b:base + en])
        t = torch.frombuffer(buf, dtype=dt) if len(buf) else torch.empty(0, dtype=dt)
        out[name] = t.reshape(e["shape"])
    return out, meta


def read_safetensors(path):
    """-> (dict name -> float32 tensor, I8 ones dequantised, metadata dict)."""
    stored, meta = read_stored(path)
    out = {name: t.float() for name, t in stored.items()}
    return dequantize_int8(out, {name: TORCH_TO_NAME[t.dtype] for name, t in stored.items()}), meta


def save_model(model, path, dtype=torch.float32, int8=False):
    """int8: the large weights as I8 with per-row scales (quantize_int8), the rest in dtype"""
    sd = {k: v.to(dtype) for k, v in model.state_dict().items()}
    if int8:
        sd = quantize_int8(sd)
    write_safetensors(path, sd, {"dir7.format": FORMAT_VERSION, "dir7.config": model.cfg.to_json()})


def load_model(path):
    sd, meta = read_safetensors(path)
    if int(meta.get("dir7.format", -1)) != FORMAT_VERSION:
        raise ValueError(f"{path}: not a DIR-7 model file of format {FORMAT_VERSION}")
    model = Dir7Model(Dir7Config.from_json(meta["dir7.config"]))
    model.load_state_dict(sd)
    return model.eval()
