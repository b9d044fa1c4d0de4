"""A user's own topics: the source file's model, field paths, event times, and the mapping
of a decoded record to an observation or an outcome (``docs/sources.md``)."""
