"""Undo the spellings people use to slip a word past a filter, before any classifier reads the prompt.

Why a separate step: the lexicon and the trained head learned words as they are normally written, so
full-width ``nude``, ``n.u.d.e``, ``nud3``, ``nuuuude``, ``ぬーど``, ``hadaka`` or ``🔞`` would each read as
something else. :func:`deobfuscate` rewrites such spellings into the plain form, and :func:`fold_kana`
puts hiragana, katakana, small kana and long-vowel spellings of one word into one form (applied to the
lexicon's patterns and to the text alike, so the lists need not spell every variant).

Why the original is kept: every rewrite can also damage an innocent prompt ("xxl" is not "xl", "no"
is a Japanese particle only in romaji), so the moderator classifies the original text *and* the
rewritten one and takes the stricter verdict; the rewrites are deliberately narrow so that the second
reading rarely differs from the first for ordinary prompts:

* spacing or punctuation inside a word is only removed from a run of at least three *single*
  characters separated by the *same* separator (``n-u-d-e``, ``p o r n``), never between words;
* leetspeak is only undone inside a token that mixes letters with digits or symbols and is not a
  number with a unit (``1990s``, ``4k``, ``35mm`` stay as they are);
* a letter repeated three or more times becomes one (``nuuuude``); doubled letters are left alone;
* romaji and emoji are replaced only from small explicit tables of words the lexicon knows, and the
  sexual emoji (🍆 🍑 💦) only stand for their slang meaning when two of them appear together.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")

# A run of >= 3 single characters split by one repeated separator: "n.u.d.e", "n u d e", "ぬ・ー・ど".
_SEPARATOR = r"(?:\s*[.\-_*|/\\·・•~+,:;'`^=]+\s*|\s+)"
_SPLIT_WORD = re.compile(rf"(?<![^\W_])[^\W_](?P<sep>{_SEPARATOR})[^\W_](?:(?P=sep)[^\W_])+(?![^\W_])")
_CJK_GAP = re.compile(r"(?<=[\u3040-\u30ff\u3400-\u9fff])\s+(?=[\u3040-\u30ff\u3400-\u9fff])")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_LONG_VOWELS = re.compile(r"(?<=[\u3040-\u30ff])[ー〜~\-\u2010\u2015\u2500]+")

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_TOKEN = re.compile(r"[a-z0-9@$!]+")
# Numbers with a unit or an ordinal: the usual digits-and-letters tokens of an innocent prompt.
_NUMBER_WITH_UNIT = re.compile(
    r"\d+(?:s|st|nd|rd|th|k|m|px|mm|cm|km|kg|g|d|x|p|am|pm|fps|hz|gb|mb|yo|yrs?|min|h|hr|v)?"
)
# Latin look-alikes from Cyrillic and Greek, undone only inside a token that also has ASCII letters.
_CONFUSABLES = str.maketrans("аеорсхуіѕкмтвнΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοιν", "aeopcxyiskmtbhabezhikmnoptyxaoiv")

#: Romaji readings of the lexicon's Japanese terms (whole words only), so "zenra" reads as 全裸.
ROMAJI: dict[str, str] = {
    "nuudo": "ヌード",
    "nu-do": "ヌード",
    "hadaka": "裸",
    "zenra": "全裸",
    "hanra": "半裸",
    "sekkusu": "セックス",
    "sekusu": "セックス",
    "poruno": "ポルノ",
    "ero": "エロ",
    "eroi": "エロい",
    "erogazou": "エロ画像",
    "eroge": "エロゲ",
    "mushuusei": "無修正",
    "mushusei": "無修正",
    "nakadashi": "中出し",
    "onanii": "オナニー",
    "onani": "オナニー",
    "reipu": "レイプ",
    "oppai": "おっぱい",
    "chikubi": "乳首",
    "chikan": "痴漢",
    "guro": "グロ",
    "ryona": "リョナ",
    "naizou": "内臓",
    "namakubi": "生首",
    "gyakusatsu": "虐殺",
    "korosu": "殺す",
    "koroshite": "殺して",
    "shineyo": "死ねよ",
    "shinde": "死んで",
    "kichigai": "キチガイ",
    "yariman": "ヤリマン",
    "risuka": "リスカ",
    "risutokatto": "リストカット",
    "jisatsu": "自殺",
    "kubitsuri": "首吊り",
    "jishou": "自傷",
    "kakuseizai": "覚醒剤",
    "bakudan": "爆弾",
    "tsukurikata": "作り方",
    "joshikousei": "女子高生",
    "joshikosei": "女子高生",
    "shougakusei": "小学生",
    "shogakusei": "小学生",
    "chuugakusei": "中学生",
    "chugakusei": "中学生",
    "youjo": "幼女",
    "yojo": "幼女",
    "rori": "ロリ",
}
#: Kana spellings of the lexicon's kanji terms ("ぎゃくさつ" for 虐殺), replaced wherever they occur in
#: hiragana or katakana; only readings of three or more kana that are not parts of everyday words
#: (ないぞう, じしょう left out: しらないぞう, じしょう for 自称).
KANA_READINGS: dict[str, str] = {
    "さしころ": "刺し殺",
    "なぐりころ": "殴り殺",
    "うちころ": "撃ち殺",
    "やきころ": "焼き殺",
    "しめころ": "絞め殺",
    "ぎゃくさつ": "虐殺",
    "らんしゃ": "乱射",
    "じさつ": "自殺",
    "くびつり": "首吊り",
    "なまくび": "生首",
    "ばくだん": "爆弾",
    "つくりかた": "作り方",
    "かくせいざい": "覚醒剤",
    "むしゅうせい": "無修正",
    "がぞう": "画像",
    "どうが": "動画",
    "せいこうい": "性行為",
    "ぜんら": "全裸",
    "はんら": "半裸",
    "はだか": "裸",
    "しゃせい": "射精",
    "らんこう": "乱交",
    "なかだし": "中出し",
    "しょうがくせい": "小学生",
    "ちゅうがくせい": "中学生",
    "じょしこうせい": "女子高生",
    "ようじょ": "幼女",
    "さつがい": "殺害",
}
# Romaji particles between two Japanese words that the tables above produced ("爆弾 no 作り方").
_PARTICLES = {"no": "の", "wo": "を", "o": "を", "ga": "が", "ni": "に", "de": "で", "to": "と", "wa": "は"}
_PARTICLE = re.compile(
    r"(?<=[\u3040-\u30ff\u3400-\u9fff]) (no|wo|o|ga|ni|de|to|wa) (?=[\u3040-\u30ff\u3400-\u9fff])"
)
_KATAKANA = str.maketrans({chr(c): chr(c + 0x60) for c in range(0x3041, 0x3097)})
_READINGS = {**KANA_READINGS, **{k.translate(_KATAKANA): v for k, v in KANA_READINGS.items()}}
# Readings that are also the middle of everyday words get a guard: ふじさつえい (富士撮影), ようじょう (養生).
_GUARDS = {"じさつ": (r"(?<![ふぶフブ])", r"(?!えい|エイ)"), "ようじょ": ("", r"(?![うウー])")}
_KANA_READING = re.compile(
    "|".join(
        _GUARDS.get(key, ("", ""))[0] + key + _GUARDS.get(key, ("", ""))[1]
        for key in sorted(_READINGS, key=len, reverse=True)
    )
)

#: Internet spellings of lexicon words that no rule above can undo ("n00dz" -> "noodz" -> "nudes").
SLANG: dict[str, str] = {
    "nood": "nude",
    "noods": "nudes",
    "noodz": "nudes",
    "nudez": "nudes",
    "nudz": "nudes",
    "pron": "porn",
    "seggs": "sex",
    "secks": "sex",
    "unalive": "kill",
    "unalived": "killed",
    "unaliving": "killing",
}
_ROMAJI = re.compile(
    r"(?<![a-z])(" + "|".join(sorted(map(re.escape, ROMAJI), key=len, reverse=True)) + r")(?![a-z])"
)

_SLANG = re.compile(r"(?<![a-z])(" + "|".join(sorted(SLANG, key=len, reverse=True)) + r")(?![a-z])")

#: Emoji that stand for a word in the lexicon's categories ("how to make a 💣").
EMOJI: dict[str, str] = {
    "🔞": " porn ",
    "👧": " little girl ",
    "👦": " little boy ",
    "🧒": " child ",
    "👶": " baby ",
    "🔪": " knife ",
    "🗡": " knife ",
    "🔫": " gun ",
    "💣": " bomb ",
    "🧨": " dynamite ",
    "🩸": " blood ",
    "💀": " skull ",
    "☠": " skull ",
    "⚰": " coffin ",
    "💊": " pills ",
    "💉": " syringe ",
    "🖕": " middle finger ",
    "卐": " swastika ",
    "🏳️‍🌈": " gay ",
    "👙": " bikini ",
    "🩲": " underwear ",
    "🍆": " eggplant ",
    "🍑": " peach ",
    "💦": " water drops ",
    "👅": " tongue ",
}
#: The sexual slang readings, used only when two different ones appear in one prompt.
SEXUAL_EMOJI: dict[str, str] = {"🍆": " penis ", "🍑": " ass ", "💦": " cum ", "👅": " licking "}
_EMOJI = re.compile("|".join(sorted(map(re.escape, EMOJI), key=len, reverse=True)) + "|\ufe0f")

_SMALL_VOWELS = {"ァ": "ア", "ィ": "イ", "ゥ": "ウ", "ェ": "エ", "ォ": "オ"}
_VOWEL_ROWS = {
    "ア": "アカサタナハマヤラワガザダバパ",
    "イ": "イキシチニヒミリギジヂビピ",
    "ウ": "ウクスツヌフムユルグズヅブプヴ",
    "エ": "エケセテネヘメレゲゼデベペ",
    "オ": "オコソトノホモヨロゴゾドボポ",
}
_LENGTHENED = {(row, vowel) for vowel, rows in _VOWEL_ROWS.items() for row in rows}
_LENGTHENED |= {(row, "ウ") for row in _VOWEL_ROWS["オ"]}  # "ポウルノ": o-row + u is long o too
# A small vowel after its own row lengthens it too ("ヌゥド"); elsewhere it stays ("フェラ", "カフェ").
_LENGTHENED |= {
    (row, small) for row, vowel in list(_LENGTHENED) for small, big in _SMALL_VOWELS.items() if big == vowel
}


def normalize(text: str) -> str:
    """NFKC (full-width to ASCII, half-width kana to full-width), case-folded, whitespace collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _strip_latin_marks(text: str) -> str:
    """ "nüde" -> "nude": combining marks go from Latin letters only (Japanese voicing marks stay)."""
    if text.isascii():
        return text
    out: list[str] = []
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.combining(char) and out and out[-1].isascii():
            continue
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def _unleet(match: re.Match[str]) -> str:
    token = match[0]
    core = token.rstrip("!")  # "wow!" is an exclamation, "k!ll" is not
    if core.isalpha() or not any(c.isalpha() for c in core) or _NUMBER_WITH_UNIT.fullmatch(core):
        return token
    return core.translate(_LEET) + token[len(core) :]


def _join(match: re.Match[str]) -> str:
    """ "n u d e" -> "nude", but "a n u d e" -> "a nude": an English one-letter word stays a word."""
    chars = re.split(_SEPARATOR, match[0])
    if match["sep"].isspace() and chars[0] in ("a", "i") and len(chars) > 3:
        return f"{chars[0]} {''.join(chars[1:])}"
    return "".join(chars)


def _unconfuse(word: str) -> str:
    translated = word.translate(_CONFUSABLES)
    return translated if translated != word and any(c.isascii() and c.isalpha() for c in word) else word


def _emoji(text: str) -> str:
    sexual = {e for e in SEXUAL_EMOJI if e in text}
    if len(sexual) >= 2:
        for emoji in sexual:
            text = text.replace(emoji, SEXUAL_EMOJI[emoji])
    return _EMOJI.sub(lambda m: EMOJI.get(m[0], ""), text)


def deobfuscate(text: str) -> str:
    """The prompt with evasive spellings undone, :func:`normalize`-d; equal to ``normalize(text)`` for
    a prompt written plainly."""
    text = _emoji(normalize(text))
    text = _strip_latin_marks(text)
    text = " ".join(_unconfuse(word) for word in text.split(" "))
    text = _SPLIT_WORD.sub(_join, text)
    text = _CJK_GAP.sub("", text)
    text = _TOKEN.sub(_unleet, text)
    text = _REPEATS.sub(r"\1", text)
    text = _ROMAJI.sub(lambda m: ROMAJI[m[0]], text)
    text = _KANA_READING.sub(lambda m: _READINGS[m[0]], text)
    text = _PARTICLE.sub(lambda m: _PARTICLES[m[1]], text)
    text = _CJK_GAP.sub("", text)
    text = _SLANG.sub(lambda m: SLANG[m[0]], text)
    return _SPACES.sub(" ", text).strip()


def fold_kana(text: str) -> str:
    """One spelling per kana word: hiragana as katakana, a long vowel (``ー``, ``〜``, or the vowel
    written out as in ``ヌウド`` or ``ヌゥド``) as a single ``ー``, and any kana doubled as one
    (``ッッ``). Small kana otherwise stay small: folding them would make カフェロゴ read as エロ.
    Apply it to both the text and the pattern it is matched against: it is a matching key, not
    readable Japanese."""
    folded = text.translate(_KATAKANA)
    folded = _LONG_VOWELS.sub("ー", folded)
    out: list[str] = []
    for char in folded:
        if out and (out[-1], char) in _LENGTHENED:
            char = "ー"
        if out and char == out[-1] and "\u30a1" <= char <= "\u30fc":
            continue  # "セッッックス": a doubled kana never tells two words apart here
        out.append(char)
    return "".join(out)


_CHARACTER_CLASS = re.compile(r"(\[(?:\\.|[^\]])*\])")


def fold_pattern(pattern: str) -> str:
    """:func:`fold_kana` for a lexicon regular expression: literal kana folded, character classes
    (``[ァ-ヶー]``) left as written so their ranges keep meaning what they meant."""
    parts = _CHARACTER_CLASS.split(pattern)
    return "".join(part if i % 2 else fold_kana(part) for i, part in enumerate(parts))
