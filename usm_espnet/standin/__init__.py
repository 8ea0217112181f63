"""Synthetic stand-ins for the corpora (espeak-ng speech of generated parallel text), one module per corpus."""
