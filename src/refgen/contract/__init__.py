"""The Vidu contract as data and rules: catalogue, output sizes, request validation."""
