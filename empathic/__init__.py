"""Empathic: multimodal emotion research pipeline on dyadic conversation corpora."""

__version__ = "0.1.0"
