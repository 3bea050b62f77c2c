"""Package data: the model registry and the small models voxpost ships (installed as ``voxpost._models``).

A models directory of :func:`voxpost.models.search_dirs`; ``train_denoiser.py`` is the training script of
``denoise-gru.pt``."""
