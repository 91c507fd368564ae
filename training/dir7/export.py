"""Reading and writing DIR-7 model files (safetensors, contract section 8)."""
import json
import struct

import numpy as np
import torch

from .config import Dir7Config, FORMAT_VERSION
from .unet import Dir7Model

DTYPES = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2)}
TORCH_TO_NAME = {v[0]: k for k, v in DTYPES.items()}


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


def read_safetensors(path):
    """-> (dict name -> float32 tensor, metadata dict)."""
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
        out[name] = t.reshape(e["shape"]).float()
    return out, meta


def save_model(model, path, dtype=torch.float32):
    sd = {k: v.to(dtype) for k, v in model.state_dict().items()}
    write_safetensors(path, sd, {"dir7.format": FORMAT_VERSION, "dir7.config": model.cfg.to_json()})


def load_model(path):
    sd, meta = read_safetensors(path)
    if int(meta.get("dir7.format", -1)) != FORMAT_VERSION:
        raise ValueError(f"{path}: not a DIR-7 model file of format {FORMAT_VERSION}")
    model = Dir7Model(Dir7Config.from_json(meta["dir7.config"]))
    model.load_state_dict(sd)
    return model.eval()
