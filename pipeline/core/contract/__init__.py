"""Data contracts: the declared stream and features, their check, units and expressions."""
