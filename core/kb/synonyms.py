"""Synonyms: groups of words the search reads as one ("shipping" finds the delivery article). A small
built-in dictionary of words every shop's customers use, per language, plus the groups admins add in
the panel (table kb_synonym). Terms are matched by their stems, so one form of a word is enough;
a term of several words ("money back") must appear whole."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import LANGUAGES
from core.errors import InvalidInput, NotFound
from core.models import KbSynonym

MAX_TERMS = 20
MAX_TERM = 60

BUILT_IN: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (
        ("shipping", "delivery", "deliver", "shipment", "postage", "ship", "dispatch"),
        ("parcel", "package", "shipment"),
        ("track", "tracking", "trace", "status"),
        ("arrive", "arrival", "show up", "turn up", "get here"),
        ("return", "send back", "give back"),
        ("refund", "money back", "reimbursement", "reimburse", "repayment"),
        ("exchange", "swap", "replace"),
        ("cancel", "cancellation", "call off"),
        ("change", "edit", "amend", "alter"),
        ("discount", "coupon", "promo", "promocode", "voucher code", "sale"),
        ("gift card", "voucher", "gift certificate"),
        ("password", "sign in", "log in", "login", "logon"),
        ("account", "profile"),
        ("delete", "erase", "remove"),
        ("broken", "damaged", "defective", "cracked", "faulty", "smashed", "torn", "ripped", "dented", "shattered"),
        ("pay", "payment"),
        ("cost", "price", "fee", "fees", "pricing"),
        ("declined", "rejected", "failed", "refused"),
        ("installments", "instalments", "pay later", "split payment", "payment plan"),
        ("invoice", "receipt", "bill"),
        ("warranty", "guarantee"),
        ("repair", "fix", "repaired"),
        ("size", "sizing", "fit", "fits"),
        ("stock", "available", "availability", "sold out", "restock", "restocked"),
        ("unsubscribe", "opt out", "newsletter", "newsletters", "mailing list"),
        ("email", "e-mail", "mail"),
        ("phone", "call", "telephone"),
        ("support", "customer service", "customer support", "helpdesk", "agent", "operator"),
        ("hours", "opening hours", "opening times", "working hours"),
        ("shop", "store", "showroom", "boutique"),
        ("abroad", "international", "overseas", "worldwide", "internationally"),
        ("customs", "duty", "duties", "import tax", "tariff"),
        ("points", "bonus", "loyalty", "rewards", "cashback"),
        ("missing", "incomplete", "absent"),
    ),
    "ru": (
        ("доставка", "доставить", "доставят", "привезти", "привезут", "привоз", "отправка", "доставляете"),
        ("сроки", "срок"),
        ("посылка", "отправление", "посылочка", "бандероль"),
        ("отследить", "отслеживание", "трек", "трекинг", "статус"),
        ("возврат", "вернуть", "сдать", "возвращать"),
        ("деньги", "средства", "возврат средств", "возврат денег"),
        ("обмен", "обменять", "поменять"),
        ("отмена", "отменить", "отказаться", "отказ"),
        ("изменить", "исправить", "поменять"),
        ("скидка", "промокод", "купон", "акция", "распродажа"),
        ("сертификат", "подарочная карта"),
        ("пароль", "войти", "зайти", "вход", "логин", "восстановить"),
        ("аккаунт", "учётная запись", "профиль", "личный кабинет"),
        ("удалить", "стереть", "удаление"),
        ("сломан", "брак", "бракованный", "повреждён", "разбит", "разбитый", "дефект", "треснул", "помят",
         "порван"),
        ("оплата", "оплатить", "заплатить", "платёж", "платить"),
        ("отклонён", "отклонена", "не проходит"),
        ("рассрочка", "частями", "долями", "кредит"),
        ("чек", "счёт", "квитанция", "реквизиты", "закрывающие документы"),
        ("гарантия", "гарантийный"),
        ("ремонт", "починить", "отремонтировать"),
        ("размер", "размерная сетка"),
        ("наличие", "закончился", "поступление", "поступит"),
        ("рассылка", "отписаться", "реклама", "рекламные"),
        ("телефон", "позвонить"),
        ("поддержка", "оператор", "менеджер", "консультант"),
        ("режим работы", "часы работы", "график работы"),
        ("магазин", "шоурум", "офлайн"),
        ("таможня", "пошлина", "таможенный"),
        ("бонусы", "баллы", "кешбэк"),
        ("подешевел", "снижение цены"),
        ("заграница", "за границу", "другие страны", "зарубеж"),
        ("некомплект", "недовложение", "недостача"),
    ),
}


# Question phrases whose meaning no single word carries (their words are stop words or filler: "how long",
# "сколько стоит"): the search reads each as the knowledge-base word after it, as if the customer had
# written that word too. Patterns match the lower-cased question ("ё" read as "е").
PHRASES: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        (r"\bhow (long|soon|fast|quickly)\b|\bhow many days\b|\bwhen will (it|my|the|you)\b", "time"),
        (r"\bhow much\b|\bwhat does .{1,40} cost\b|\bprice of\b", "cost"),
        (r"\bwhere (is|are)\b|\bwhere's\b", "track"),
    ),
    "ru": (
        (r"\bсколько (идет|ждать|дней|ехать)\b|\bкак (долго|быстро)\b|\bкогда (доставят|привезут|придет)\b", "сроки"),
        (r"\bсколько стоит\b|\bкакая цена\b|\bпочем\b", "стоимость"),
        (r"\bгде (мой|моя|мои|моё|мое)\b", "отследить"),
    ),
}


def phrase_words(question: str, language: str) -> list[str]:
    """The words the question's phrases stand for (PHRASES), each once."""
    text = question.lower().replace("ё", "е")
    return list(dict.fromkeys(word for pattern, word in PHRASES.get(language, ()) if re.search(pattern, text)))


def clean_terms(terms: list[str]) -> list[str]:
    """Trimmed, lower-case, unique terms; a group needs two of them."""
    out: list[str] = []
    for term in terms:
        word = " ".join(str(term).split()).lower()
        if len(word) > MAX_TERM:
            raise InvalidInput("a synonym is too long", field="terms", max_length=MAX_TERM)
        if word and word not in out:
            out.append(word)
    if len(out) < 2 or len(out) > MAX_TERMS:
        raise InvalidInput("a synonym group needs 2 to 20 different words", field="terms")
    return out


def synonym_json(group: KbSynonym) -> dict[str, Any]:
    return {"id": group.id, "language": group.language, "terms": list(group.terms)}


async def list_groups(session: AsyncSession, language: str | None = None) -> list[KbSynonym]:
    query = select(KbSynonym).order_by(KbSynonym.language, KbSynonym.id)
    if language:
        query = query.where(KbSynonym.language == language)
    return list(await session.scalars(query))


async def add_group(session: AsyncSession, language: str, terms: list[str]) -> KbSynonym:
    if language not in LANGUAGES:
        raise InvalidInput("language must be en or ru", field="language")
    group = KbSynonym(language=language, terms=clean_terms(terms))
    session.add(group)
    await session.flush()
    return group


async def delete_group(session: AsyncSession, group_id: int) -> None:
    deleted = await session.execute(delete(KbSynonym).where(KbSynonym.id == group_id).returning(KbSynonym.id))
    if deleted.first() is None:
        raise NotFound("synonym", synonym_id=group_id)
