"""How common a word is in the language at large (wordfreq's Zipf scale: 7 is "the", 3 a word met once
in a million, 0 a word it has never seen). The knowledge base's own vocabulary says what the shop writes
about; this says what the customer's word is when the shop never writes it:

- a real word (REAL or more) is not a typo: "socks" is not corrected to "stock", "прошло" not to "пришло"
  ("пришло" is in the articles, "прошло" is not). A word below REAL ("cancell", "damged") still is;
- a word nothing else read is spelled as the most common real word one edit away (`nearest_word`):
  "trackign" is "tracking" (whose stem, "track", the articles hold), "сколко" is "сколько" (a stop word).

The word lists ship inside the wordfreq package (no download at run time). Its "small" list (words met at
least once in a million: exactly the REAL bar; 29,000 English and 61,000 Russian words) is read once into
a dict per language (about 10 MB, 0.2 s for both; `warm` does it at start-up, not in the first customer's
search). A look-up is a dict's; `nearest_word` tries every one-edit spelling (0.2 ms a word).
"""

from __future__ import annotations

import math

from wordfreq import get_frequency_dict

REAL = 3.0  # a word at least this common (once in a million words) is a word of the language, not a typo

_LISTS: dict[str, dict[str, float]] = {}


def _list(language: str) -> dict[str, float]:
    """The language's word -> frequency table, read once (a plain dict: a look-up costs what a dict's does;
    wordfreq's own `zipf_frequency` re-tokenises the word every call, 100 times slower)."""
    table = _LISTS.get(language)
    if table is None:
        try:
            table = get_frequency_dict(language, wordlist="small")
        except LookupError:
            table = {}
        _LISTS[language] = table
    return table


def zipf(word: str, language: str) -> float:
    """The word's Zipf frequency in `language` (0.0 for a word the list does not hold or a language it lacks)."""
    frequency = _list(language).get(word, 0.0)
    return math.log10(frequency) + 9 if frequency > 0 else 0.0


def is_real(word: str, language: str) -> bool:
    return zipf(word, language) >= REAL


def warm(languages: tuple[str, ...]) -> None:
    """Load each language's list now, not in the first customer's search."""
    for language in languages:
        _list(language)


_ALPHABETS = {"en": "abcdefghijklmnopqrstuvwxyz", "ru": "абвгдежзийклмнопрстуфхцчшщъыьэюя"}


def nearest_word(word: str, language: str) -> str | None:
    """The most common real word one edit from `word` (a letter missed, added, changed, or two swapped:
    "trackign" -> "tracking", "абмен" -> "обмен"), or None: for a word neither the knowledge base nor its
    synonyms know, whose stem differs from the article's ("trackign" stems to itself, "tracking" to "track")."""
    alphabet = _ALPHABETS.get(language)
    if alphabet is None or len(word) < 4 or not word.isalpha() or is_real(word, language):
        return None
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    edits = {a + b[1:] for a, b in splits if b}
    edits |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    edits |= {a + c + b[1:] for a, b in splits if b for c in alphabet}
    edits |= {a + c + b for a, b in splits for c in alphabet}
    best = max(edits, key=lambda candidate: (zipf(candidate, language), candidate))
    return best if is_real(best, language) else None
