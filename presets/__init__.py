"""Package data: the presets that ship with voxpost (installed as ``voxpost._presets``)."""
