"""gce-lab: the helper package behind the book on Generalized Cross Entropy (Zhang & Sabuncu, 2018)."""

__version__ = "0.1.0"
