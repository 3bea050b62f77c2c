"""Errors a user can cause.

Anything a user can fix (a bad file, a bad preset, a missing model, an unwritable output) raises a
:class:`VoxpostError` whose message is one line that says what is wrong and what to do. The CLI
prints it as ``voxpost: error: <message>`` and exits with code 2. Anything else is a bug and is
left to raise a traceback.
"""


class VoxpostError(Exception):
    """A problem the user can fix; its message is one line."""


class AudioError(VoxpostError):
    """An input that cannot be read as audio, or an output that cannot be written."""


class ParameterError(VoxpostError, ValueError):
    """A stage or preset parameter out of its type or range."""


class PresetError(VoxpostError):
    """A preset that cannot be found or does not validate."""


class ModelError(VoxpostError):
    """A model checkpoint that is missing, corrupt or unknown."""
