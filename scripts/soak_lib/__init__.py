"""The reliability soak: simulated readouts, line and port faults, the report."""
