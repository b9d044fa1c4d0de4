"""The partition task: the prequential loop, its state and checkpoint format."""
