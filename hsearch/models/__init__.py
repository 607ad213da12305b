"""The model zoo: CIFAR-style classifiers for inputs of any size >= 8 px, scaled by width
and depth multipliers, and what they cost (MACs, parameters).

>>> from hsearch.models import create_model, model_cost
>>> net = create_model("senet18", num_classes=10, width_mult=0.5, depth_mult=1.5)
>>> cost = model_cost("senet18", 0.5, 1.5, resolution_mult=0.75)   # at 24x24 px
"""

from hsearch.models.common import ZooModel, make_divisible
from hsearch.models.cost import ModelCost, input_resolution, model_cost
from hsearch.models.registry import create_model, list_models

__all__ = [
    "ModelCost",
    "ZooModel",
    "create_model",
    "input_resolution",
    "list_models",
    "make_divisible",
    "model_cost",
]
