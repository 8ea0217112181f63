"""Fixes to ESPnet internals that long inputs need, applied when our classes are registered.

ESPnet's ``make_pad_mask`` (``espnet2.legacy.nets.pytorch_backend.nets_utils``), for a
1-D ``lengths`` tensor, goes through ``_make_pad_mask_traceable``, which builds a
``(maxlen + 1) x (maxlen + 1)`` triangular matrix and picks one row per length: time
and memory quadratic in the padded length. Its default frontend calls it twice per
forward (STFT and log-mel, over 10 ms frames). Measured on the CPU with
``OMP_NUM_THREADS=2 python bench/long_input_train.py --frontend_only --minutes 5,10
--long_minutes 60`` (one waveform through the frontend, eval mode; peak RSS growth): 5 min
took 0.96 s and 2,719 MB, 10 min 13.84 s and 10,547 MB; with this fix 0.12 s / 158 MB and
0.21 s / 303 MB, and 60 minutes 1.36 s / 1,774 MB (ESPnet's matrix alone would be
360,001^2 bytes, 130 GB). Without it, training or one-pass decoding of hour-long inputs
could not get past the frontend.

:func:`linear_pad_mask` returns the same tensor (same shape, dtype, device and values;
tested against ESPnet's) from one comparison against ``arange(maxlen)``: linear in the
output, and as traceable as the original (no ``.tolist()``).
:func:`apply` puts it in place of ``_make_pad_mask_traceable`` in that module, which
``make_pad_mask`` looks up by name at each call, so every ESPnet module that imported
``make_pad_mask`` gets it. If ESPnet's module no longer has that function the fix is
skipped (logged at debug level).
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

_NETS_UTILS = "espnet2.legacy.nets.pytorch_backend.nets_utils"
_applied = False
#: ESPnet's own function, kept when :func:`apply` replaces it (tests compare the two)
original_pad_mask = None


def linear_pad_mask(lengths, xs=None, length_dim=-1, maxlen=None):
    """ESPnet's ``_make_pad_mask_traceable`` in linear time: True at padded positions.

    Args:
        lengths: (B,) lengths.
        xs: Optional reference tensor of 2 or 3 dimensions (the mask takes its length
            along ``length_dim``).
        length_dim: Dimension of ``xs`` that holds the length (1, 2 or -1 for 3-D).
        maxlen: Mask length when ``xs`` is None (default ``lengths.max()``).

    Returns:
        bool tensor: (B, maxlen) without ``xs`` or with a 2-D ``xs``; for a 3-D ``xs``,
        (B, xs.size(1), maxlen) (length along the last dimension) or (B, maxlen,
        xs.size(2)) when ``length_dim`` is 1 -- as ESPnet's.
    """
    import torch

    device = lengths.device if xs is None else xs.device
    transpose = False
    if xs is not None and xs.dim() == 3:
        if length_dim == 1:
            lengths = lengths.unsqueeze(1).expand(xs.size(0), xs.size(2))
            transpose = True
        else:
            if length_dim not in (-1, 2):
                logger.warning("pad mask: length_dim %s of a 3-D tensor is not 1 or 2; "
                               "using the last dimension", length_dim)
                length_dim = -1
            lengths = lengths.unsqueeze(1).expand(*xs.shape[:2])
    if maxlen is not None:
        assert xs is None
        assert maxlen >= lengths.max()
    elif xs is not None:
        maxlen = xs.shape[length_dim]
    else:
        maxlen = lengths.max()
    lengths = torch.clamp(lengths, max=maxlen).type(torch.long).to(device)
    mask = torch.arange(maxlen, device=device) >= lengths.unsqueeze(-1)
    return mask.transpose(1, 2) if transpose else mask


def apply() -> bool:
    """Put :func:`linear_pad_mask` in place of ESPnet's quadratic pad mask; idempotent.

    Returns:
        True when the fix is in place.
    """
    global _applied, original_pad_mask
    if _applied:
        return True
    import importlib

    try:
        nets_utils = importlib.import_module(_NETS_UTILS)
    except ImportError as e:
        logger.debug("ESPnet pad-mask fix skipped: %s", e)
        return False
    if not callable(getattr(nets_utils, "_make_pad_mask_traceable", None)):
        logger.debug("ESPnet pad-mask fix skipped: %s has no _make_pad_mask_traceable", _NETS_UTILS)
        return False
    original_pad_mask = nets_utils._make_pad_mask_traceable
    nets_utils._make_pad_mask_traceable = linear_pad_mask
    _applied = True
    return True
