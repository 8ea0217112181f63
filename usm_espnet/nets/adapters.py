"""Per-language residual adapters on a frozen Conformer encoder (USM Sec. 3.4).

Each Conformer block gets two residual bottleneck adapters, one beside each of
its two (macaron) feed-forward modules: ``ffn(x) + adapter(x)`` (a forward hook,
so the encoder's parameter names do not change). Adapters are
kept per language in a bank; :meth:`Adapters.set_language` switches every block
to that language's adapters at once, without touching or reloading the encoder.
A new adapter's up-projection starts at zero, so an untrained adapter leaves
the encoder's output unchanged.

Works with :class:`usm_espnet.nets.chunk_conformer.ChunkConformerEncoder`
(``blocks[i].ff1/ff2``) and ESPnet's ``ConformerEncoder`` family
(``encoders[i].feed_forward_macaron/feed_forward``).

    adapters = Adapters.attach(model.encoder)          # ~2 % of the encoder by default
    adapters.add_language("sn_zw"); adapters.set_language("sn_zw")
    adapters.freeze_encoder()                           # only adapters (and the head) train
    adapters.save_language("sn_zw", "exp/adapters/sn_zw.pth")
"""

from __future__ import annotations

import os
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from torch import nn

from usm_espnet.utils import atomic_write_bytes


class ResidualAdapter(nn.Module):
    """LayerNorm -> down-projection -> ReLU -> up-projection (zero-initialised)."""

    def __init__(self, dim: int, bottleneck: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.down = nn.Linear(dim, bottleneck)
        self.up = nn.Linear(bottleneck, dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(torch.relu(self.down(self.norm(x))))


def _adapter_hook(owner: "Adapters", slot: int):
    """Forward hook on a feed-forward module: add the current language's adapter output.

    A hook, not a wrapper module, so that the encoder's parameter names (and any
    checkpoint written without adapters) stay exactly as they were.
    """
    def hook(module, args, output):
        if owner.language is None:
            return output
        return output + owner.bank[owner.language][slot](args[0])

    return hook


def _ffn_slots(encoder: nn.Module) -> List[Tuple[nn.Module, str]]:
    """(parent module, attribute) of every feed-forward module that gets an adapter."""
    slots = []
    if hasattr(encoder, "blocks"):  # ChunkConformerEncoder
        for b in encoder.blocks:
            slots += [(b, "ff1"), (b, "ff2")]
    elif hasattr(encoder, "encoders"):  # ESPnet Conformer / E-Branchformer style
        for layer in encoder.encoders:
            for name in ("feed_forward_macaron", "feed_forward"):
                if getattr(layer, name, None) is not None:
                    slots.append((layer, name))
    if not slots:
        raise ValueError(f"{type(encoder).__name__}: found no feed-forward modules to adapt")
    return slots


class Adapters(nn.Module):
    """A bank of per-language adapters attached to one encoder.

    Args:
        encoder: The encoder (modified in place: its feed-forward modules are wrapped).
        dim: Model dimension.
        bottleneck: Adapter bottleneck width.
    """

    def __init__(self, encoder: nn.Module, dim: int, bottleneck: int) -> None:
        super().__init__()
        self.dim, self.bottleneck = dim, bottleneck
        self.bank = nn.ModuleDict()
        self.language: Optional[str] = None
        self._encoder = [encoder]  # a list: the encoder is not a submodule of its adapters
        if getattr(encoder, "_usm_adapters_attached", False):
            raise ValueError("adapters are already attached to this encoder")
        encoder._usm_adapters_attached = True
        self._hooks = []
        self.num_slots = 0
        for parent, name in _ffn_slots(encoder):
            ffn = getattr(parent, name)
            self._hooks.append(ffn.register_forward_hook(_adapter_hook(self, self.num_slots)))
            self.num_slots += 1

    @classmethod
    def attach(cls, encoder: nn.Module, fraction: float = 0.02,
               bottleneck: Optional[int] = None) -> "Adapters":
        """Wrap ``encoder``'s feed-forward modules; size the bottleneck for ``fraction``.

        With ``bottleneck`` None it is chosen so that one language's adapters have
        about ``fraction`` of the encoder's parameters (USM: ~2 %).
        """
        n_slots = len(_ffn_slots(encoder))
        dim = encoder.output_size()
        n_enc = sum(p.numel() for p in encoder.parameters())
        if bottleneck is None:
            # per adapter: 2*dim*b + b + dim (projections) + 2*dim (LayerNorm)
            bottleneck = max(1, round((fraction * n_enc / n_slots - 3 * dim) / (2 * dim + 1)))
        return cls(encoder, dim, bottleneck)

    @property
    def encoder(self) -> nn.Module:
        return self._encoder[0]

    def add_language(self, lang: str) -> None:
        """Create (identity) adapters for ``lang``."""
        if lang in self.bank:
            raise ValueError(f"adapters for {lang!r} already exist")
        dev = next(self.encoder.parameters()).device
        self.bank[lang] = nn.ModuleList(ResidualAdapter(self.dim, self.bottleneck)
                                        for _ in range(self.num_slots)).to(dev)

    def set_language(self, lang: Optional[str]) -> None:
        """Use ``lang``'s adapters in every block (None: the bare encoder)."""
        if lang is not None and lang not in self.bank:
            raise KeyError(f"no adapters for language {lang!r} (have: {', '.join(self.bank) or 'none'})")
        self.language = lang

    def parameters_of(self, lang: str) -> Iterator[nn.Parameter]:
        return self.bank[lang].parameters()

    def num_parameters(self, lang: str) -> int:
        return sum(p.numel() for p in self.parameters_of(lang))

    def freeze_encoder(self) -> None:
        """Stop gradients to every encoder weight; adapters stay trainable."""
        adapter_ids = {id(p) for p in self.bank.parameters()}
        for p in self.encoder.parameters():
            if id(p) not in adapter_ids:
                p.requires_grad_(False)

    def save_language(self, lang: str, path: str) -> None:
        """Write one language's adapters (a small file of their own)."""
        import io

        buf = io.BytesIO()
        torch.save({"dim": self.dim, "bottleneck": self.bottleneck, "num_slots": self.num_slots,
                    "state_dict": self.bank[lang].state_dict()}, buf)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        atomic_write_bytes(path, buf.getvalue())

    def load_language(self, lang: str, path: str) -> None:
        """Load ``lang``'s adapters from :meth:`save_language`'s file (replacing any)."""
        obj = torch.load(path, map_location="cpu")
        shape = (obj.get("dim"), obj.get("bottleneck"), obj.get("num_slots"))
        if shape != (self.dim, self.bottleneck, self.num_slots):
            raise ValueError(f"{path}: adapters for dim/bottleneck/slots {shape}, this encoder "
                             f"needs {(self.dim, self.bottleneck, self.num_slots)}")
        if lang in self.bank:
            del self.bank[lang]
        self.add_language(lang)
        self.bank[lang].load_state_dict(obj["state_dict"])

    @classmethod
    def from_dir(cls, encoder: nn.Module, directory: str) -> "Adapters":
        """Attach and load every ``<lang>.pth`` of ``directory`` (written by :meth:`save_language`)."""
        files = sorted(f for f in os.listdir(directory) if f.endswith(".pth")) if os.path.isdir(directory) else []
        if not files:
            raise ValueError(f"{directory}: no <lang>.pth adapter files")
        first = torch.load(os.path.join(directory, files[0]), map_location="cpu")
        ad = cls.attach(encoder, bottleneck=int(first["bottleneck"]))
        for f in files:
            ad.load_language(f[: -len(".pth")], os.path.join(directory, f))
        return ad

    def detach(self) -> None:
        """Remove the hooks: the encoder computes exactly as before :meth:`attach`."""
        for h in self._hooks:
            h.remove()
        self._hooks = []
        self.encoder._usm_adapters_attached = False

    def languages(self) -> Dict[str, int]:
        return {lang: self.num_parameters(lang) for lang in self.bank}
