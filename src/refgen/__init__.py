"""refgen: a self-hosted server for reference-to-video and reference-to-image (Vidu API contract)."""

__version__ = "0.1.0"
