"""How common a word is in the language at large (wordfreq's Zipf scale: 7 is "the", 3 a word met once
in a million, 0 a word it has never seen). The knowledge base's own vocabulary says what the shop writes
about; this says what the customer's word is when the shop never writes it:

a real word (REAL or more) is not a typo: "socks" is not corrected to "stock", "прошло" not to "пришло"
("пришло" is in the articles, "прошло" is not). A word below REAL ("recieved", "cancell", "damged") is
still corrected to the nearest knowledge-base word.

The word lists ship inside the wordfreq package (no download at run time). Its "small" list (words met at
least once in a million: exactly the REAL bar) is enough and costs about 28 MB and 0.3 s for English and
Russian together, against 180 MB and 2.5 s for its full one; `warm` loads it at start-up, not in the first
customer's search.
"""

from __future__ import annotations

from functools import lru_cache

from wordfreq import zipf_frequency

REAL = 3.0  # a word at least this common is a word of the language, not a typo


@lru_cache(maxsize=65536)
def zipf(word: str, language: str) -> float:
    """The word's Zipf frequency in `language` (0.0 for a word the lists do not hold or a language they lack)."""
    if not word or not word.isalpha():
        return 0.0
    return float(zipf_frequency(word, language, wordlist="small"))


def is_real(word: str, language: str) -> bool:
    return zipf(word, language) >= REAL


def warm(languages: tuple[str, ...]) -> None:
    """Load each language's list now, not in the first customer's search."""
    for language in languages:
        zipf("the" if language == "en" else "и", language)
