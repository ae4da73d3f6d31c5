"""Generation backends: the contract (base), the model map (registry) and the adapters."""
