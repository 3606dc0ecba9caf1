"""The built-in sample corpus: a deterministic generator in the real IEMOCAP layout.

`generate(root, cfg, workers, progress)` writes an IEMOCAP_full_release folder with espeak-ng
speech, animated faces from skimage's astronaut photo, transcriptions and EmoEvaluation files,
and `sample_truth.csv` (the generated truth). See generator.py for the empathic link.
"""
from .generator import EMOTIONS, EMPATHY, PRIOR, generate, validate

__all__ = ["EMOTIONS", "EMPATHY", "PRIOR", "generate", "validate"]
