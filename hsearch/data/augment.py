"""Batched data augmentation on the training device: crop + flip, AutoAugment, Cutout.

:class:`BatchAugmenter` augments a whole ``uint8`` batch ``[B, 3, R, R]`` where it lies (CPU or
GPU), with no PIL and no DataLoader, yet every image gets its own random draws, as with the
usual per-image pipeline. The steps, in the order of the AutoAugment authors' CIFAR code
(policy, then pad-and-crop and flip, then Cutout):

1. **AutoAugment**, CIFAR-10 policy (Cubuk et al. 2019; the 25 sub-policies of
   ``torchvision.transforms.AutoAugmentPolicy.CIFAR10``, with torchvision's magnitude bins,
   nearest interpolation and black fill). Each image draws its sub-policy, one uniform number
   per op (the op runs when it is ``<=`` the op's probability) and one sign per op (signed
   magnitudes are negated on sign 0), exactly as ``torchvision.transforms.AutoAugment`` does.
   For speed the batch is grouped: for each of the two op slots, the images are sorted so
   that those running ops of one kind form a contiguous slice, and each slice is transformed
   by one batched kernel with per-image parameters (all five geometric ops share one
   ``grid_sample``). A batch needs at most 10 kernel calls per slot, whatever its size. The
   kernels follow ``torchvision.transforms.v2.functional``'s arithmetic (equalize is
   torchvision's own); the tests check each op against torchvision's, image by image.
2. **Random crop with zero padding** (``pad`` pixels on each side, the crop offset uniform in
   ``[0, 2 * pad]``) and a **horizontal flip** with probability 1/2, done together as one
   gather.
3. **Cutout** (DeVries & Taylor 2017): one square hole of ``cutout_size`` pixels, filled with 0,
   its centre uniform over the image, clipped at the border (so it can be smaller there).

``pad`` and ``cutout_size`` are given for 32-pixel images and scale with the resolution
(rounded half up): at 16 px they are 2 and 8, at 48 px 6 and 24. AutoAugment's translations
scale with the image size too (150/331 of it at the largest bin, as in torchvision).

All random numbers come from one CPU ``torch.Generator`` seeded with ``seed``, drawn in a fixed
order per batch whether or not a step is switched on: the draws are a few numbers per image,
grouping needs them on the host anyway, and a CPU stream makes the draws the same on every
device. The same seed therefore gives the same sequence of augmented batches (bit-identical on
one device; CPU and GPU kernels may round an interpolated pixel differently), and switching a
step off leaves the others' draws unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from hsearch.checks import is_int

#: The 25 sub-policies of AutoAugment's CIFAR-10 policy (Cubuk et al. 2019, appendix table),
#: as (op, probability, magnitude bin 0..9 or None) pairs, in torchvision's order.
CIFAR10_POLICY: tuple[tuple[tuple[str, float, int | None], ...], ...] = (
    (("Invert", 0.1, None), ("Contrast", 0.2, 6)),
    (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
    (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)),
    (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
    (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)),
    (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
    (("Color", 0.4, 3), ("Brightness", 0.6, 7)),
    (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
    (("Equalize", 0.6, None), ("Equalize", 0.5, None)),
    (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
    (("Color", 0.7, 7), ("TranslateX", 0.5, 8)),
    (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
    (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)),
    (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
    (("Solarize", 0.5, 2), ("Invert", 0.0, None)),
    (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
    (("Equalize", 0.2, None), ("Equalize", 0.6, None)),
    (("Color", 0.9, 9), ("Equalize", 0.6, None)),
    (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)),
    (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
    (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)),
    (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
    (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)),
    (("Equalize", 0.8, None), ("Invert", 0.1, None)),
    (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
)

# Ops whose magnitude is negated for half of the draws.
_SIGNED_OPS = frozenset({"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness",
                         "Color", "Contrast", "Sharpness"})
_NUM_BINS = 10
# Resolution at which AugmentConfig's pixel sizes are given.
_BASE_RESOLUTION = 32


def _scale(pixels: int, resolution: int) -> int:
    # Round half up: Python's round() would send 2.5 to 2 but 3.5 to 4.
    return int(math.floor(pixels * resolution / _BASE_RESOLUTION + 0.5))


@dataclass(frozen=True)
class AugmentConfig:
    """Which augmentation steps run, and their sizes at 32 px.

    Attributes:
        crop_flip: random crop after zero padding, plus a random horizontal flip.
        autoaugment: AutoAugment with the CIFAR-10 policy.
        cutout: one square hole filled with 0.
        pad: padding on each side for the random crop, in pixels at 32 px.
        cutout_size: side of the Cutout hole, in pixels at 32 px.
    """

    crop_flip: bool = True
    autoaugment: bool = True
    cutout: bool = True
    pad: int = 4
    cutout_size: int = 16

    def __post_init__(self) -> None:
        for name in ("crop_flip", "autoaugment", "cutout"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, but got {getattr(self, name)!r}")
        for name, low in (("pad", 0), ("cutout_size", 1)):
            value = getattr(self, name)
            if not is_int(value) or value < low:
                raise ValueError(f"`{name} >= {low}` must hold for an integer {name}, "
                                 f"but got {name}={value!r}")

    def scaled_pad(self, resolution: int) -> int:
        """Crop padding in pixels at ``resolution`` (``pad`` scaled from 32 px)."""
        return _scale(self.pad, resolution)

    def scaled_cutout(self, resolution: int) -> int:
        """Cutout side in pixels at ``resolution`` (``cutout_size`` scaled from 32 px, >= 1)."""
        return max(1, _scale(self.cutout_size, resolution))


def op_magnitude(op: str, magnitude_bin: int | None, height: int, width: int) -> float:
    """The unsigned magnitude of an AutoAugment op at a bin, as torchvision defines it."""
    if magnitude_bin is None:
        return 0.0
    if op in ("ShearX", "ShearY"):
        values = torch.linspace(0.0, 0.3, _NUM_BINS)
    elif op == "TranslateX":
        values = torch.linspace(0.0, 150.0 / 331.0 * width, _NUM_BINS)
    elif op == "TranslateY":
        values = torch.linspace(0.0, 150.0 / 331.0 * height, _NUM_BINS)
    elif op == "Rotate":
        values = torch.linspace(0.0, 30.0, _NUM_BINS)
    elif op in ("Brightness", "Color", "Contrast", "Sharpness"):
        values = torch.linspace(0.0, 0.9, _NUM_BINS)
    elif op == "Posterize":
        # bits kept: 8 at bin 0 down to 4 at bin 9
        values = 8 - (torch.arange(_NUM_BINS) / ((_NUM_BINS - 1) / 4)).round().int()
    elif op == "Solarize":
        values = torch.linspace(255.0, 0.0, _NUM_BINS)
    else:
        raise ValueError(f"op {op!r} takes no magnitude, but got bin {magnitude_bin}")
    return float(values[magnitude_bin].item())


# AutoAugment ops by kernel family. A family's kernel transforms a uint8 batch [n, 3, H, W]
# with one row of float32 parameters per image ([n, 6], on the batch's device), so images with
# different magnitudes (and, for "affine", different geometric ops) share one call.
_FAMILY_OF_OP = {
    "ShearX": "affine", "ShearY": "affine", "TranslateX": "affine", "TranslateY": "affine",
    "Rotate": "affine", "Brightness": "brightness", "Color": "color", "Contrast": "contrast",
    "Sharpness": "sharpness", "Posterize": "posterize", "Solarize": "solarize",
    "AutoContrast": "autocontrast", "Equalize": "equalize", "Invert": "invert",
}
_FAMILIES = ("affine", "brightness", "color", "contrast", "sharpness", "posterize", "solarize",
             "autocontrast", "equalize", "invert")
_NUM_PARAMS = 6


def op_params(op: str, magnitude: float, height: int,
              width: int) -> tuple[str, tuple[float, ...]]:
    """Kernel family and its 6 parameters for one AutoAugment op with a signed magnitude.

    The semantics are torchvision's (``torchvision.transforms.AutoAugment`` on tensors):

    * geometric ops: the inverse affine map (output pixel -> input pixel, in pixel units about
      the image centre, y down) as a row-major 2x3 matrix, sampled with nearest interpolation
      and black fill. Shears act about the top-left corner by the factor ``magnitude`` (as
      PIL's ``(1, m, 0, 0, 1, 0)`` in the original AutoAugment code), rotations are
      counter-clockwise in degrees, translations move by ``int(magnitude)`` pixels;
    * Brightness / Color / Contrast / Sharpness: ``(factor, 1 - factor)``, factor = 1 + m;
    * Posterize: the bit mask keeping ``int(m)`` high bits; Solarize: the threshold.
    """
    if op not in _FAMILY_OF_OP:
        raise ValueError(f"unknown AutoAugment op {op!r}; known ops: {', '.join(_FAMILY_OF_OP)}")
    family = _FAMILY_OF_OP[op]
    if op == "ShearX":
        params = (1.0, magnitude, magnitude * height / 2, 0.0, 1.0, 0.0)
    elif op == "ShearY":
        params = (1.0, 0.0, 0.0, magnitude, 1.0, magnitude * width / 2)
    elif op == "TranslateX":
        params = (1.0, 0.0, -float(int(magnitude)), 0.0, 1.0, 0.0)
    elif op == "TranslateY":
        params = (1.0, 0.0, 0.0, 0.0, 1.0, -float(int(magnitude)))
    elif op == "Rotate":
        cos, sin = math.cos(math.radians(magnitude)), math.sin(math.radians(magnitude))
        params = (cos, -sin, 0.0, sin, cos, 0.0)
    elif family in ("brightness", "color", "contrast", "sharpness"):
        factor = 1.0 + magnitude
        if factor < 0:
            raise ValueError(f"`1 + magnitude >= 0` must hold for {op}, but got "
                             f"magnitude={magnitude}")
        params = (factor, 1.0 - factor, 0.0, 0.0, 0.0, 0.0)
    elif op == "Posterize":
        bits = int(magnitude)
        if not 0 <= bits <= 8:
            raise ValueError(f"`0 <= bits <= 8` must hold for Posterize, but got bits={bits}")
        params = (float(((1 << bits) - 1) << (8 - bits)), 0.0, 0.0, 0.0, 0.0, 0.0)
    elif op == "Solarize":
        params = (float(magnitude), 0.0, 0.0, 0.0, 0.0, 0.0)
    else:
        params = (0.0,) * _NUM_PARAMS
    return family, params


def apply_op(images: torch.Tensor, op: str, magnitude: float) -> torch.Tensor:
    """Apply one AutoAugment op with a signed magnitude to every image of a uint8 batch.

    Matches ``torchvision.transforms.AutoAugment``'s op on tensors (to within one grey level
    where a blend is rounded differently); see :func:`op_params`.
    """
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError(f"images must be a uint8 tensor [B, 3, H, W], but got "
                         f"{getattr(images, 'dtype', type(images).__name__)} "
                         f"{tuple(getattr(images, 'shape', ()))}")
    family, params = op_params(op, magnitude, images.shape[-2], images.shape[-1])
    rows = torch.tensor(params, dtype=torch.float32).to(images.device)
    return _run_family(family, images, rows.expand(images.shape[0], _NUM_PARAMS))


def _run_family(family: str, images: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    if family == "affine":
        return _affine(images, params)
    if family == "brightness":
        return _blend(images, None, params)
    if family == "color":
        return _blend(images, _grayscale(images), params)
    if family == "contrast":
        return _blend(images, _grayscale(images).mean(dim=(-3, -2, -1), keepdim=True), params)
    if family == "sharpness":
        return _sharpness(images, params)
    if family == "posterize":
        return images.bitwise_and(params[:, 0].to(torch.uint8).view(-1, 1, 1, 1))
    if family == "solarize":
        return torch.where(images >= params[:, 0].view(-1, 1, 1, 1), images.bitwise_not(),
                           images)
    if family == "autocontrast":
        return _autocontrast(images)
    if family == "equalize":
        from torchvision.transforms.v2 import functional as F

        return F.equalize(images)
    if family == "invert":
        return images.bitwise_not()
    raise AssertionError(f"unknown op family {family!r}")


# The kernels below follow torchvision.transforms.v2.functional's arithmetic step by step (so
# results agree), but take per-image parameters, and build every constant on the device:
# torchvision creates its affine matrix and sharpness kernel with torch.tensor(..., device=),
# a blocking host-to-device copy that stalls the CUDA stream on every call.

def _affine(images: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    n, _, h, w = images.shape
    # sampling grid in grid_sample's [-1, 1] units: the inverse map applied to pixel centres
    coeff_x = params[:, 0:3] / (0.5 * w)
    coeff_y = params[:, 3:6] / (0.5 * h)
    xs = torch.linspace((1.0 - w) * 0.5, (w - 1.0) * 0.5, w, device=images.device).view(1, 1, w)
    ys = torch.linspace((1.0 - h) * 0.5, (h - 1.0) * 0.5, h, device=images.device).view(1, h, 1)

    def axis(coeff: torch.Tensor) -> torch.Tensor:
        return (xs * coeff[:, 0, None, None] + ys * coeff[:, 1, None, None]
                + coeff[:, 2, None, None])

    grid = torch.stack([axis(coeff_x), axis(coeff_y)], dim=-1)
    out = torch.nn.functional.grid_sample(images.float(), grid, mode="nearest",
                                          padding_mode="zeros", align_corners=False)
    return out.round_().to(torch.uint8)


def _grayscale(images: torch.Tensor) -> torch.Tensor:
    # ITU-R 601 luma, floored for integer images as PIL and torchvision do
    r, g, b = images.unbind(dim=-3)
    luma = r.mul(0.2989).add_(g, alpha=0.587).add_(b, alpha=0.114)
    return luma.floor_().unsqueeze(dim=-3)


def _blend(images: torch.Tensor, degenerate: torch.Tensor | None,
           params: torch.Tensor) -> torch.Tensor:
    # factor * image + (1 - factor) * degenerate; a missing degenerate image is black
    out = images.float().mul_(params[:, 0].view(-1, 1, 1, 1))
    if degenerate is not None:
        out.addcmul_(degenerate, params[:, 1].view(-1, 1, 1, 1))
    return out.clamp_(0, 255).to(torch.uint8)


def _sharpness(images: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    channels, h, w = images.shape[-3:]
    if h <= 2 or w <= 2:
        return images.clone()
    # PIL's SMOOTH filter (1 around a centre of 5, over 13); the border keeps its pixels
    kernel = torch.full((channels, 1, 3, 3), 1.0 / 13.0, device=images.device)
    kernel[:, :, 1, 1] = 5.0 / 13.0
    out = images.to(torch.float32)
    blurred = torch.nn.functional.conv2d(out, kernel, groups=channels).round_()
    inner = out[..., 1:-1, 1:-1]
    inner.addcmul_(blurred.sub_(inner), params[:, 1].view(-1, 1, 1, 1))
    return out.clamp_(0, 255).to(torch.uint8)


def _autocontrast(images: torch.Tensor) -> torch.Tensor:
    # per image and channel, stretch [min, max] to [0, 255]; flat channels stay as they are
    out = images.float()
    low = out.amin(dim=(-2, -1), keepdim=True)
    high = out.amax(dim=(-2, -1), keepdim=True)
    flat = high == low
    inv_scale = torch.where(flat, 1.0, (high - low).mul_(1.0 / 255))
    low = torch.where(flat, 0.0, low)
    return out.sub_(low).div_(inv_scale).clamp_(0, 255).to(torch.uint8)


class _CompiledPolicy:
    """The policy as lookup tables: which op variant an image runs in each slot."""

    def __init__(self, resolution: int) -> None:
        num = len(CIFAR10_POLICY)
        # float32, like the uniform draws, so `draw <= p` decides exactly as torchvision does
        self.probs = np.array([[p for _, p, _ in sub] for sub in CIFAR10_POLICY],
                              dtype=np.float32)  # [25, 2]
        # A variant is an op with a signed magnitude, as (family, parameters); sub-policies
        # share equal variants. Variant ids are ordered by family, so sorting images by
        # variant makes every family one contiguous slice of the batch.
        found: dict[tuple[str, tuple[float, ...]], list[tuple[int, int, int]]] = {}
        for s, sub in enumerate(CIFAR10_POLICY):
            for slot, (op, _, magnitude_bin) in enumerate(sub):
                size = op_magnitude(op, magnitude_bin, resolution, resolution)
                for sign in (0, 1):
                    magnitude = -size if (op in _SIGNED_OPS and sign == 0) else size
                    family, params = op_params(op, magnitude, resolution, resolution)
                    if _is_identity(op, magnitude):
                        continue
                    found.setdefault((family, params), []).append((s, slot, sign))
        keys = sorted(found, key=lambda k: _FAMILIES.index(k[0]))  # stable within a family
        # variant[s, slot, sign]: variant id, or -1 where the op leaves the image unchanged
        self.variant = np.full((num, 2, 2), -1, dtype=np.int64)
        for variant, key in enumerate(keys):
            for s, slot, sign in found[key]:
                self.variant[s, slot, sign] = variant
        self.family = np.array([_FAMILIES.index(family) for family, _ in keys], dtype=np.int64)
        self.params = np.array([params for _, params in keys], dtype=np.float32)  # [V, 6]

    def slot_keys(self, policy: np.ndarray, probs: np.ndarray, signs: np.ndarray,
                  slot: int) -> np.ndarray:
        """Variant each image runs in ``slot`` (-1: none), from its draws."""
        applied = probs[:, slot] <= self.probs[policy, slot]
        return np.where(applied, self.variant[policy, slot, signs[:, slot]], -1)


def _is_identity(op: str, magnitude: float) -> bool:
    # e.g. Color at bin 0 (factor 1), or a translation shorter than one pixel
    if op in ("TranslateX", "TranslateY"):
        return int(magnitude) == 0
    return op in _SIGNED_OPS and magnitude == 0.0


class BatchAugmenter:
    """Per-image random augmentation of whole uint8 batches (see the module docstring).

    Args:
        config: which steps run, and their sizes at 32 px.
        resolution: side of the images this augmenter will get, in pixels.
        seed: seeds the generator; the same seed gives the same sequence of batches.
        device: if given, batches are moved there (a no-op when they already are) and the
            result lies there; otherwise the result lies where the batch does.
    """

    def __init__(self, config: AugmentConfig, resolution: int, seed: int = 0,
                 device: torch.device | str | None = None) -> None:
        if not isinstance(config, AugmentConfig):
            raise TypeError(f"config must be an AugmentConfig, but got {type(config).__name__}")
        if not is_int(resolution) or resolution < 1:
            raise ValueError(f"resolution must be a positive integer, but got {resolution!r}")
        self.config = config
        self.resolution = resolution
        self.device = torch.device(device) if device is not None else None
        self.pad = config.scaled_pad(resolution)
        self.cutout_size = config.scaled_cutout(resolution)
        self._policy = _CompiledPolicy(resolution)
        self._generator = torch.Generator()
        self.reset(seed)

    def __repr__(self) -> str:
        return (f"BatchAugmenter({self.config}, resolution={self.resolution}, seed={self.seed}, "
                f"pad={self.pad}, cutout_size={self.cutout_size})")

    def reset(self, seed: int | None = None) -> None:
        """Restart the random stream, from ``seed`` or else from the seed given last."""
        if seed is not None:
            if not is_int(seed) or seed < 0:
                raise ValueError(f"seed must be a non-negative integer, but got {seed!r}")
            self.seed = int(seed)
        self._generator.manual_seed(self.seed)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Augment a batch: uint8 ``[B, 3, R, R]`` in, a new uint8 ``[B, 3, R, R]`` out."""
        if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8:
            raise TypeError(f"images must be a uint8 tensor, but got "
                            f"{getattr(images, 'dtype', type(images).__name__)}")
        r = self.resolution
        if images.dim() != 4 or tuple(images.shape[1:]) != (3, r, r):
            raise ValueError(f"images must have shape [B, 3, {r}, {r}], but got "
                             f"{tuple(images.shape)}")
        if self.device is not None:
            images = images.to(self.device)
        return self._apply(images, self._draw(images.shape[0]))

    def _apply(self, images: torch.Tensor, draws: dict[str, np.ndarray]) -> torch.Tensor:
        # Every image's result depends on its own draws only, whatever else is in the batch.
        batch = images.shape[0]
        out = images
        if self.config.autoaugment and batch:
            out = self._autoaugment(out, draws)
        if self.config.crop_flip or self.config.cutout:
            # Crop offsets, flips and hole corners travel to the device in one transfer.
            geometry = _to_device(draws["geometry"], images.device)
            if self.config.crop_flip:
                out = self._crop_flip(out, geometry[:, 0:2], geometry[:, 2])
            if self.config.cutout:
                out = self._cutout(out, geometry[:, 3:5])
        return out.clone() if out is images else out

    def _draw(self, batch: int) -> dict[str, np.ndarray]:
        # One fixed order of draws for every configuration: switching a step off must not
        # change what the other steps draw.
        g = self._generator
        policy = torch.randint(len(CIFAR10_POLICY), (batch,), generator=g)
        probs = torch.rand((batch, 2), generator=g)
        signs = torch.randint(2, (batch, 2), generator=g)
        offsets = torch.randint(2 * self.pad + 1, (batch, 2), generator=g)
        flips = torch.randint(2, (batch, 1), generator=g)
        centres = torch.randint(self.resolution, (batch, 2), generator=g)
        corners = centres - self.cutout_size // 2
        return {
            "policy": policy.numpy(),
            "probs": probs.numpy(),
            "signs": signs.numpy(),
            "geometry": torch.cat([offsets, flips, corners], dim=1).numpy(),
        }

    def _autoaugment(self, images: torch.Tensor, draws: dict[str, np.ndarray]) -> torch.Tensor:
        batch = images.shape[0]
        policy = self._policy
        # Plan on the host. perm[i] = original image now at position i. Per slot, the current
        # order is sorted by variant, so images without an op come first and each family
        # forms one run [start, stop), transformed by one kernel call.
        perm = np.arange(batch)
        orders, plans, param_rows = [], [], []
        offset = 0
        for slot in (0, 1):
            keys = policy.slot_keys(draws["policy"], draws["probs"], draws["signs"], slot)
            current = keys[perm]
            if (current < 0).all():
                continue
            order = np.argsort(current, kind="stable")
            perm = perm[order]
            ordered = current[order]
            first = int(np.searchsorted(ordered, 0))  # first image with an op
            family = policy.family[ordered[first:]]
            starts = np.flatnonzero(np.r_[True, family[1:] != family[:-1]])
            ends = np.r_[starts[1:], family.size]
            runs = [(_FAMILIES[family[a]], first + int(a), first + int(b), offset + int(a))
                    for a, b in zip(starts, ends)]
            orders.append(order)
            plans.append(runs)
            param_rows.append(policy.params[ordered[first:]])
            offset += family.size
        if not orders:
            return images
        # Two transfers per batch: the gathers' index rows and the images' op parameters.
        index = _to_device(np.stack([*orders, np.argsort(perm)]), images.device)
        params = _to_device(np.concatenate(param_rows), images.device)
        out = images
        for step, runs in enumerate(plans):
            # index_select rather than out[index]: the same gather, many times faster on
            # CPU uint8; it returns a fresh tensor, safe to write into below.
            out = out.index_select(0, index[step])
            for family, start, stop, row in runs:
                out[start:stop] = _run_family(family, out[start:stop],
                                              params[row:row + stop - start])
        return out.index_select(0, index[-1])

    def _crop_flip(self, images: torch.Tensor, offsets: torch.Tensor,
                   flips: torch.Tensor) -> torch.Tensor:
        batch, channels, r, _ = images.shape
        pad = self.pad
        side = r + 2 * pad
        padded = torch.nn.functional.pad(images, (pad, pad, pad, pad)) if pad else images
        steps = torch.arange(r, device=images.device)
        rows = offsets[:, 0:1] + steps                                   # [B, R]
        cols = offsets[:, 1:2] + torch.where(flips[:, None] == 1, r - 1 - steps, steps)
        flat = (rows[:, :, None] * side + cols[:, None, :]).reshape(batch, 1, r * r)
        out = padded.reshape(batch, channels, side * side).gather(
            2, flat.expand(batch, channels, r * r))
        return out.reshape(batch, channels, r, r)

    def _cutout(self, images: torch.Tensor, corners: torch.Tensor) -> torch.Tensor:
        r = images.shape[-1]
        steps = torch.arange(r, device=images.device)
        size = self.cutout_size
        inside = (steps >= corners[:, :, None]) & (steps < corners[:, :, None] + size)  # [B,2,R]
        hole = inside[:, 0, :, None] & inside[:, 1, None, :]                          # [B,R,R]
        # Multiplying by a 0/1 mask is much faster than masked_fill for uint8 on the CPU.
        return images * (~hole).unsqueeze(1).to(images.dtype)


def augment_together(augmenters: list[BatchAugmenter], images: torch.Tensor) -> torch.Tensor:
    """Augment K batches in one call: ``images`` uint8 ``[K, B, 3, R, R]``, batch k with
    ``augmenters[k]``'s draws; returns the new uint8 ``[K, B, 3, R, R]``.

    Equal to ``torch.stack([a(x) for a, x in zip(augmenters, images)])``, each augmenter's
    stream advancing as in that call, but the kernels run once over the K x B images (the K
    seeds of a packed model). The augmenters must share config and resolution.
    """
    if not augmenters:
        raise ValueError("need at least one augmenter, but got none")
    first = augmenters[0]
    for other in augmenters[1:]:
        if (other.config, other.resolution) != (first.config, first.resolution):
            raise ValueError(f"augmenters must share config and resolution, but got {first!r} "
                             f"and {other!r}")
    r = first.resolution
    if (not isinstance(images, torch.Tensor) or images.dtype != torch.uint8
            or images.dim() != 5 or tuple(images.shape[2:]) != (3, r, r)
            or images.shape[0] != len(augmenters)):
        raise ValueError(f"images must be a uint8 tensor [{len(augmenters)}, B, 3, {r}, {r}], "
                         f"but got {getattr(images, 'dtype', type(images).__name__)} "
                         f"{tuple(getattr(images, 'shape', ()))}")
    k, batch = images.shape[:2]
    if first.device is not None:
        images = images.to(first.device)
    draws = [a._draw(batch) for a in augmenters]
    joined = {key: np.concatenate([d[key] for d in draws]) for key in draws[0]}
    return first._apply(images.reshape(k * batch, 3, r, r), joined).reshape(k, batch, 3, r, r)


def _to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """Host draws to the device without stalling it.

    A copy from pageable memory waits for the work already queued on the CUDA stream (the
    previous training step); from pinned memory with ``non_blocking`` it is just queued.
    """
    tensor = torch.from_numpy(array)
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def resize_images(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """Resize a uint8 batch ``[B, 3, H, W]`` to ``[B, 3, R, R]`` (bilinear, antialiased).

    Works on any device; returns ``images`` itself when it already has the size. CPU and GPU
    results can differ by one grey level (the CPU has a native uint8 kernel, the GPU goes
    through float32).
    """
    from torchvision.transforms.v2 import functional as F
    from torchvision.transforms.v2 import InterpolationMode

    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError(f"images must be a uint8 tensor [B, C, H, W], but got "
                         f"{getattr(images, 'dtype', type(images).__name__)} "
                         f"{tuple(getattr(images, 'shape', ()))}")
    if not is_int(resolution) or resolution < 1:
        raise ValueError(f"resolution must be a positive integer, but got {resolution!r}")
    if tuple(images.shape[-2:]) == (resolution, resolution):
        return images
    return F.resize(images, [resolution, resolution], interpolation=InterpolationMode.BILINEAR,
                    antialias=True)
