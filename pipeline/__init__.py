"""driftline's shared core: events, serialization, settings, the local stack, the command."""

from pipeline.errors import DriftlineError
from pipeline.events import Observation, Outcome
from pipeline.settings import Settings

__all__ = ["DriftlineError", "Observation", "Outcome", "Settings", "__version__"]

__version__ = "0.1.0"
