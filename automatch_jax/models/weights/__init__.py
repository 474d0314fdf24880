"""ImageNet weights for the backbones: PyTorch state dicts read without torch (:mod:`.pth`), one set of
torch-to-Flax layout conversions (:mod:`.torch_layout`), and the per-network key mappings
(:mod:`.efficientnet_lite`, :mod:`.resnet`)."""
