"""Corpus readers (IEMOCAP, KEMDy19, KEMDy20) and the built-in sample generator."""

# corpus -> the folder name of its release (where the built-in sample writes each layout)
RELEASE_FOLDERS = {"iemocap": "IEMOCAP_full_release", "kemdy19": "KEMDy19", "kemdy20": "KEMDy20"}
