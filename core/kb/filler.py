"""Filler: words customers wrap a question in that never say what it is about ("hi", "please",
"something", "подскажите", "хочу"). The search skips them as it skips stop words, even where an
article happens to hold one ("If *something* arrived broken..."), so they neither match an article
nor count against one as unknown words. Only words that carry no shop topic in any sentence belong
here; a shop's own vocabulary is the synonyms' business (core/kb/synonyms.py)."""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FILLER: dict[str, frozenset[str]] = {
    "en": _words("""
        hi hello hey hiya guys folks team there dear sir madam thanks thank thx ty cheers regards please
        pls plz kindly ok okay yes yeah yep no nope hmm um so well just really actually basically maybe
        perhaps still already yet also too very quite much many lot lots some any something anything
        everything nothing someone anyone somebody anybody thing things stuff way ways question
        questions wondering wonder wondered want wanted wants wanna would could should might need needs
        needed like liked know knew tell told ask asked asking help helps say says said think thought
        guess hope hoped get gets got getting go goes going gone make made let lets see look looking
        possible able whether though although anyway however now today ago
    """),
    "ru": _words("""
        здравствуйте здравствуй привет приветствую пожалуйста пожалуйсто плиз спасибо благодарю
        подскажите подскажи скажите скажи расскажите помогите помоги уточнить уточните вопрос вопросик
        интересует интересно хочу хотел хотела хотелось хотели бы можно могу может могли нужно надо вот
        такой такая такое просто очень вообще кстати ладно хорошо ок окей да нет ну что-то кое-что
        что-нибудь как-то какой-то какая-то сейчас уже еще ещё пока типа короче блин значит вроде делать
        сделать
    """),
}

_EDGES = re.compile(r"^[^\w]+|[^\w]+$")
# Greetings of two words whose second word is a topic elsewhere ("добрый день" but "через 2 дня").
_GREETINGS = {
    "en": re.compile(r"good (morning|afternoon|evening|day)"),
    "ru": re.compile(r"добр(ый|ого|ое|ой) (день|дня|вечер|вечера|утро|утра|ночи)"),
}


def filler_positions(chunks: list[str], language: str) -> set[int]:
    """The positions of the filler words and greetings among a question's words (lower-cased, as typed)."""
    words = [_EDGES.sub("", chunk).replace("ё", "е") for chunk in chunks]
    filler = FILLER.get(language, frozenset())
    out = {n for n, word in enumerate(words) if word in filler}
    pattern = _GREETINGS.get(language)
    if pattern:
        out |= {k for n in range(len(words) - 1) if pattern.fullmatch(f"{words[n]} {words[n + 1]}") for k in (n, n + 1)}
    return out
