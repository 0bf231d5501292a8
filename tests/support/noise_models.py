"""Config for servers whose model is a tiny random-weight pipeline, which draws noise."""

from __future__ import annotations

#: open_nsfw scores noise above `auto`'s 0.5 now and then: of 3,000 tiny-SD edits of one photo (seeds
#: 0-2999), 5 scored 0.51-0.58, so a suite that renders hundreds of such pictures fails by chance (an
#: edit in a CI run did). A test of what such a server does with a picture must not fail on that
#: chance, so its output and input checks block only at 0.99. Prompt moderation is untouched (the gate
#: and privacy tests rely on it), and the image thresholds themselves are tested in tests/moderation.
NOISE_MODEL_MODERATION = """
[moderation]
image_auto_threshold = 0.99
image_low_threshold = 0.99
"""
