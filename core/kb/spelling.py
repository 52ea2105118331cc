"""Other readings of what a customer typed: the same keys in the other keyboard layout (ЙЦУКЕН <->
QWERTY: "ljcnfdrf" is "доставка") and Russian written in Latin letters ("dostavka"). The search
keeps whichever reading the knowledge base knows; these functions only propose them."""

from __future__ import annotations

import re

_QWERTY = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
_JCUKEN = "йцукенгшщзхъфывапролджэячсмитьбюё"
_TO_RU = str.maketrans(_QWERTY, _JCUKEN)
_TO_EN = str.maketrans(_JCUKEN, _QWERTY)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)

# Longest first, so "shch" is not read as "s" + "h"...; common spellings of one sound share a letter.
_TRANSLIT = [
    ("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"),
    ("yu", "ю"), ("ju", "ю"), ("ya", "я"), ("ja", "я"), ("yo", "ё"), ("jo", "ё"), ("ye", "е"),
    ("yy", "ый"), ("ey", "ей"), ("ei", "ей"), ("ai", "ай"), ("oi", "ой"),
    ("a", "а"), ("b", "б"), ("v", "в"), ("w", "в"), ("g", "г"), ("d", "д"), ("e", "е"), ("z", "з"),
    ("i", "и"), ("j", "й"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"),
    ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("h", "х"), ("c", "к"), ("y", "ы"),
    ("x", "кс"), ("q", "к"), ("'", "ь"),
]
_TRANSLIT_RE = re.compile("|".join(re.escape(latin) for latin, _ in _TRANSLIT))
_TRANSLIT_MAP = dict(_TRANSLIT)


def other_layout(chunk: str, language: str) -> str | None:
    """`chunk` as typed with the wrong layout for `language`, or None if it cannot be one."""
    if language == "ru" and _LATIN.search(chunk) and not _CYRILLIC.search(chunk):
        return chunk.lower().translate(_TO_RU)
    if language == "en" and _CYRILLIC.search(chunk) and not _LATIN.search(chunk):
        return chunk.lower().translate(_TO_EN)
    return None


def transliterated(chunk: str, language: str) -> str | None:
    """Russian written in Latin letters, back in Cyrillic (only for a Russian knowledge base)."""
    if language != "ru" or not _LATIN.search(chunk) or _CYRILLIC.search(chunk):
        return None
    return _TRANSLIT_RE.sub(lambda m: _TRANSLIT_MAP[m.group(0)], chunk.lower())


def readings(chunk: str, language: str) -> list[str]:
    """The chunk itself first, then the other layout and the transliteration where they apply."""
    out = [chunk]
    for other in (other_layout(chunk, language), transliterated(chunk, language)):
        if other and other not in out:
            out.append(other)
    return out
