"""Exact text in images: Latin and Japanese fonts, fitting text to a box, colours that read, quoted text.

The built-in engine sets its own text with it; the diffusion path typesets over a model's picture with
it (`overlay`), then lets the model harmonise around letters it may not change. Import from the
defining modules (`gazo.typography.typeset`, ...).
"""
