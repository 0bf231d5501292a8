"""English words the prompt parser knows: colours, styles, moods and scenes, layout, counts, removal.

Words not listed here are candidate subjects, matched to icons by meaning, so this table only has to
hold the words that steer the design rather than name something to draw.
"""

from __future__ import annotations

from gazo.typography.colour import RGB

__all__ = ["RGB"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# fmt: off
COLOURS: dict[str, RGB] = {
    "red": (220, 38, 38), "crimson": (185, 20, 50), "scarlet": (230, 40, 25), "maroon": (120, 20, 35),
    "orange": (245, 130, 20), "amber": (245, 170, 20), "yellow": (250, 210, 30), "gold": (212, 168, 40),
    "golden": (212, 168, 40), "lime": (150, 215, 40), "green": (40, 160, 70), "olive": (120, 130, 50),
    "mint": (150, 225, 190), "teal": (20, 140, 140), "turquoise": (40, 200, 190), "cyan": (20, 200, 230),
    "aqua": (40, 210, 220), "blue": (30, 100, 220), "navy": (20, 35, 90), "indigo": (70, 50, 160),
    "purple": (130, 50, 180), "violet": (140, 80, 220), "lavender": (190, 170, 235),
    "magenta": (220, 30, 160), "pink": (245, 130, 180), "rose": (235, 90, 130), "coral": (250, 120, 95),
    "peach": (255, 190, 150), "brown": (130, 80, 40), "beige": (225, 205, 170), "cream": (250, 240, 215),
    "tan": (210, 180, 140), "black": (18, 18, 22), "white": (248, 248, 245), "grey": (128, 128, 132),
    "gray": (128, 128, 132), "silver": (190, 195, 200), "charcoal": (50, 52, 58),
    "sky blue": (120, 190, 240), "light blue": (150, 200, 245), "dark blue": (20, 45, 120),
    "dark green": (20, 90, 45), "light green": (150, 220, 140), "dark red": (130, 15, 20),
    "hot pink": (250, 60, 150), "baby blue": (170, 210, 245), "forest green": (35, 100, 50),
}
#: Words that adjust the next colour word instead of being colours themselves.
SHADES = {
    "light": 0.45, "pale": 0.55, "pastel": 0.5, "soft": 0.3, "dark": -0.45, "deep": -0.35,
}
STYLES: dict[str, str] = {
    "flat": "flat", "vector": "flat", "icon": "flat", "sticker": "sticker", "stickers": "sticker",
    "die-cut": "sticker", "poster": "poster", "flyer": "poster", "cover": "poster", "banner": "banner",
    "header": "banner", "thumbnail": "banner", "watercolor": "watercolor", "watercolour": "watercolor",
    "painted": "watercolor", "painting": "watercolor", "neon": "neon", "glow": "neon", "glowing": "neon",
    "cyberpunk": "neon", "pattern": "pattern", "wallpaper": "pattern", "seamless": "pattern",
    "tiled": "pattern", "retro": "retro", "vintage": "retro", "pixel": "pixel", "pixelated": "pixel",
    "8-bit": "pixel", "minimal": "minimal", "minimalist": "minimal", "simple": "minimal",
    "pastel": "pastel", "kawaii": "pastel", "paper": "paper", "papercut": "paper", "card": "card",
    "postcard": "card", "logo": "minimal",
}
#: Moods and scenes colour and texture the background; see `palette.MOODS` for what each does.
MOODS: dict[str, str] = {
    "sunset": "sunset", "sunrise": "sunset", "dusk": "sunset", "evening": "sunset", "night": "night",
    "midnight": "night", "starry": "night", "stars": "night", "space": "space", "galaxy": "space",
    "cosmic": "space", "universe": "space", "ocean": "ocean", "sea": "ocean", "beach": "ocean",
    "underwater": "ocean", "lake": "ocean", "pond": "ocean", "river": "ocean", "marine": "ocean",
    "forest": "forest", "woods": "forest", "jungle": "forest",
    "nature": "forest", "snow": "winter", "snowy": "winter", "winter": "winter", "frozen": "winter",
    "spring": "spring", "summer": "summer", "sunny": "summer", "tropical": "summer", "autumn": "autumn",
    "fall": "autumn", "warm": "autumn", "cozy": "autumn", "cold": "winter", "cool": "calm",
    "halloween": "halloween", "spooky": "halloween", "christmas": "christmas", "xmas": "christmas",
    "party": "party", "birthday": "party", "celebration": "party", "festive": "party", "happy": "cheerful",
    "cheerful": "cheerful", "bright": "cheerful", "fun": "cheerful", "calm": "calm", "peaceful": "calm",
    "serene": "calm", "relaxing": "calm", "romantic": "love", "love": "love", "valentine": "love",
    "valentines": "love", "sky": "sky", "cloudy": "sky", "clouds": "sky", "desert": "desert",
    "city": "city", "urban": "city", "garden": "spring", "field": "meadow", "fields": "meadow",
    "meadow": "meadow", "grass": "meadow", "grassy": "meadow", "hills": "meadow", "hill": "meadow",
    "park": "meadow", "countryside": "meadow", "rain": "rain", "rainy": "rain", "storm": "rain",
    "dreamy": "dreamy", "magical": "dreamy", "fantasy": "dreamy", "dark": "night", "moody": "night",
    "elegant": "elegant", "luxury": "elegant", "sale": "sale", "business": "calm", "tech": "tech",
    "futuristic": "tech",
}
#: Where things go. "background" and "border" are handled by the parser, not placed.
LAYOUT: dict[str, str] = {
    "left": "left", "right": "right", "top": "top", "bottom": "bottom", "center": "center",
    "centre": "center", "centered": "center", "centred": "center", "middle": "center", "upper": "top",
    "lower": "bottom", "above": "top", "below": "bottom", "corner": "corner",
}
BORDER_WORDS = {
    "border", "bordered", "frame", "framed",
}
BACKGROUND_WORDS = {
    "backdrop", "background", "backgrounds", "bg", "scene", "wall",
}
TEXT_WORDS = {
    "caption", "headline", "label", "lettering", "reads", "saying", "says", "text", "title", "words",
}
REMOVAL = {
    "cleanup", "delete", "disappear", "eliminate", "erase", "erased", "hide", "inpaint", "remove",
    "removed", "rid", "without",
}
COUNTS: dict[str, int] = {
    "one": 1, "a": 1, "an": 1, "single": 1, "two": 2, "pair": 2, "couple": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "several": 3, "few": 3, "many": 5, "lots": 5, "some": 2,
}
# fmt: on
STOP_WORDS = _words(
    """
    the of and with in on at to for from by into onto over under near next beside behind front its is
    are be being been it this that these those there their his her my our your as or but very so too
    just only also like style styled image picture photo illustration drawing drawn design render
    rendering art artwork graphic made make create generate show showing shows featuring feature which
    who while where against beautiful nice pretty cute lovely cool awesome great big small large tiny
    huge little giant high quality detailed hd 4k 8k realistic photorealistic side corner half full
    around between across some any each other another please put place add adding placed using use
    colour color colours colors coloured colored tone toned theme themed palette vibe aesthetic lots
    get take clean up out away want need can could would should me we i you keep replace fill filled
    extend extended expand outpaint outpainting wider taller zoom turn change changed look looks
    looking here everything something
    """
)
