"""DIR-7 hyperparameters: the JSON stored as "dir7.config" in a model file.

Every size the C core needs is here; nothing is a constant in code.
"""
import json
from dataclasses import dataclass, field, asdict
from typing import List

FORMAT_VERSION = 1


@dataclass
class LoraRanks:
    w: int = 64   # decay
    a: int = 64   # in-context learning rate
    v: int = 16   # value residual
    g: int = 128  # output gate


@dataclass
class TextConfig:
    vocab_size: int = 257      # bytes 0-255 + <|endoftext|> (256)
    dim: int = 128
    layers: int = 4
    max_len: int = 128         # bytes after <|endoftext|>; longer prompts are cut
    lora: LoraRanks = field(default_factory=LoraRanks)


@dataclass
class UNetConfig:
    image_channels: int = 4              # premultiplied RGBA
    base_channels: int = 64
    channel_mult: List[int] = field(default_factory=lambda: [1, 2, 2])
    num_res_blocks: int = 1
    dir7_levels: List[bool] = field(default_factory=lambda: [False, False, True])
    mid_dir7: bool = True
    norm_groups: int = 32
    norm_eps: float = 1e-5
    time_dim: int = 256
    cross_mode: str = "state"            # "paper" or "state"
    text_embed: bool = False             # the prompt's last-token feature added to the time embedding
    lora: LoraRanks = field(default_factory=LoraRanks)


@dataclass
class DiffusionConfig:
    timesteps: int = 1000
    beta_start: float = 1e-4
    beta_end: float = 0.02
    prediction: str = "epsilon"


@dataclass
class Dir7Config:
    image_size: int = 64
    head_size: int = 64
    layer_norm_eps: float = 1e-5
    text: TextConfig = field(default_factory=TextConfig)
    unet: UNetConfig = field(default_factory=UNetConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    def from_json(s: str) -> "Dir7Config":
        d = json.loads(s)
        t = dict(d["text"]); t["lora"] = LoraRanks(**t["lora"])
        u = dict(d["unet"]); u["lora"] = LoraRanks(**u["lora"])
        return Dir7Config(image_size=d["image_size"], head_size=d["head_size"],
                          layer_norm_eps=d["layer_norm_eps"],
                          text=TextConfig(**t), unet=UNetConfig(**u),
                          diffusion=DiffusionConfig(**d["diffusion"]))

    @property
    def size_step(self) -> int:
        return 2 ** (len(self.unet.channel_mult) - 1)


def tiny_config(cross_mode: str = "state") -> Dir7Config:
    """The small random model of the tests: 16 x 16, DIR-7 blocks at both
    levels (256 tokens exercise the chunked WKV), fast on a 2-core CPU."""
    r = LoraRanks(w=8, a=8, v=4, g=16)
    return Dir7Config(
        image_size=16, head_size=64,
        text=TextConfig(dim=64, layers=2, max_len=32, lora=r),
        unet=UNetConfig(base_channels=64, channel_mult=[1, 1], num_res_blocks=1,
                        dir7_levels=[True, True], mid_dir7=True, norm_groups=8,
                        time_dim=64, cross_mode=cross_mode, lora=r))
