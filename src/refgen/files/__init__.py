"""Where references and creations live: the contract (base), local disk, and signed URLs."""
