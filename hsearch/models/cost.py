"""What a scaled model costs: multiply-accumulates at its input resolution, and parameters.

MACs come from fvcore's ``FlopCountAnalysis`` (which counts one "flop" per multiply-add,
i.e. what we call a MAC), run on one image of the actual input resolution with the model
in eval mode; parameters are counted on the module. Nothing is trained.

What fvcore counts: convolutions (grouped and depthwise ones by their true cost,
``k*k*C_in/groups*C_out*H_out*W_out``), linear layers and matrix products, BatchNorm in
eval mode (2 per element: scale and shift), adaptive average pooling (1 per input
element, so the squeeze of squeeze-and-excitation is included; its two 1x1 convs count
as convolutions). What it skips, none of which is a multiply-add with a weight:
ReLU, concatenation, slicing and reshapes (ignored silently), and residual additions,
the excitation's channel-wise ``mul`` and ``sigmoid``, ReLU6 (``hardtanh_``), SiLU,
max pooling, fixed-size average pooling (ShuffleNet's shortcut, DenseNet's transitions),
``mean`` (torchvision ShuffleNetV2's global pooling) and ``pad`` (ResNet-110's shortcuts),
which are logged at debug level. Counted at one op per output element, those would add
at most 0.2% for most models, 1% for ShuffleNet g2, 1.7% for MobileNetV2 and 2.3% for
EfficientNet-B0 (activations on the expanded channels).
"""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass

import torch

from hsearch.checks import is_int
from hsearch.errors import UserError
from hsearch.models.common import ZooModel, check_multiplier
from hsearch.models.registry import check_model_name, create_model

__all__ = ["ModelCost", "input_resolution", "model_cost"]

logger = logging.getLogger(__name__)

# Multipliers are rounded to this many decimals before caching: the NAS asks for the
# same mesh points again and again, and 1e-6 changes no channel or block count in
# practice (a rounding boundary would have to fall within 1e-6 of the point).
_DECIMALS = 6


@dataclass(frozen=True)
class ModelCost:
    """Cost of one scaled model: MACs of one forward pass of one image, parameters, and the
    input resolution (pixels per side) the MACs were measured at."""

    macs: int
    params: int
    resolution: int

    def __post_init__(self) -> None:
        for field in ("macs", "params", "resolution"):
            value = getattr(self, field)
            if not is_int(value) or value < 0:
                raise ValueError(f"`{field} >= 0` must hold (an int), but got {field}={value!r}")
        if self.resolution < 8:
            raise ValueError(f"`resolution >= 8` must hold, but got resolution={self.resolution}")


def input_resolution(resolution_mult: float, base: int = 32) -> int:
    """Input side in pixels for a resolution multiplier: ``max(8, round(base * r))``.

    Raises:
        UserError: ``resolution_mult`` is not a finite number > 0.
    """
    resolution_mult = check_multiplier("resolution_mult", resolution_mult)
    if not is_int(base) or base < 1:
        raise ValueError(f"`base >= 1` must hold (an int), but got base={base!r}")
    return max(8, round(base * resolution_mult))


def model_cost(name: str, width_mult: float = 1.0, depth_mult: float = 1.0,
               resolution_mult: float = 1.0, num_classes: int = 10) -> ModelCost:
    """MACs (fvcore, at the actual input resolution) and parameters of a scaled model.

    Cached on (name, multipliers rounded to 6 decimals, resolution in pixels, classes),
    since the NAS search asks for every candidate. Building the model does not touch the
    global torch random state.

    Raises:
        UserError: unknown name, or a multiplier that is not a finite number > 0.
    """
    name = check_model_name(name)
    width_mult = round(check_multiplier("width_mult", width_mult), _DECIMALS)
    depth_mult = round(check_multiplier("depth_mult", depth_mult), _DECIMALS)
    resolution = input_resolution(resolution_mult)
    if width_mult <= 0 or depth_mult <= 0:  # positive but below 5e-7: rounded to 0
        raise UserError(f"`width_mult` and `depth_mult` must be >= 5e-7, but got "
                         f"width_mult={width_mult}, depth_mult={depth_mult}")
    return _measure(name, width_mult, depth_mult, resolution, int(num_classes))


@functools.lru_cache(maxsize=4096)
def _measure(name: str, width_mult: float, depth_mult: float, resolution: int,
             num_classes: int) -> ModelCost:
    with torch.random.fork_rng(devices=[]):
        model = create_model(name, num_classes, width_mult, depth_mult).eval()
    assert isinstance(model, ZooModel)
    image = torch.zeros(1, 3, resolution, resolution)
    with torch.no_grad(), warnings.catch_warnings():
        # Importing fvcore warns that torch.jit.script is deprecated, and jit tracing warns
        # about Python-side shape arithmetic: neither matters for counting.
        warnings.simplefilter("ignore")
        # fvcore pulls in iopath and friends: imported here, not when hsearch.models is.
        from fvcore.nn import FlopCountAnalysis

        analysis = FlopCountAnalysis(model, image)
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        analysis.tracer_warnings("none")
        macs = int(analysis.total())
        skipped = analysis.unsupported_ops()
    if skipped:
        logger.debug("fvcore skipped ops for %s (w=%s, d=%s, %d px): %s", name, width_mult,
                     depth_mult, resolution, dict(skipped))
    return ModelCost(macs=macs, params=model.num_params(), resolution=resolution)
