"""Vision models j4d learns tables for: a registry of frozen, normalizing models."""

from j4d.models.cifar_resnet import CifarResNet
from j4d.models.registry import (
    REGISTRY,
    FrozenModel,
    ModelSpec,
    available_models,
    create_model,
    create_models,
    model_name,
    model_view,
    models_device,
)
from j4d.models.shufflenet import cifar_shufflenet_v2

__all__ = [
    "REGISTRY",
    "CifarResNet",
    "FrozenModel",
    "ModelSpec",
    "available_models",
    "cifar_shufflenet_v2",
    "create_model",
    "create_models",
    "model_name",
    "model_view",
    "models_device",
]
