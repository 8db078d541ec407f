"""sealer-py: build, share and run cluster images."""

__version__ = "0.1.0"
