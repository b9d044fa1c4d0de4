"""The application: the ``driftline`` command, the demo, terminal views and logging.

It sits on top of everything: it reads the settings once, wires the real adapters into the
producers and consumers, and prints. The composition modules hold no logic of their own.
"""

__all__: list[str] = []
