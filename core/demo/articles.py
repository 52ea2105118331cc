"""The demo shop's knowledge base: answers to what customers of a small shop ask most, in English
and Russian. Slugs start with `demo-` (how `desk demo` recognises its own articles)."""

from __future__ import annotations

from core.kb.articles import ArticleData

PREFIX = "demo-"


def _article(slug: str, language: str, title: str, body: str, tags: tuple[str, ...],
             examples: tuple[str, ...]) -> ArticleData:
    return ArticleData(slug=f"{PREFIX}{slug}-{language}", title=title, body=body, language=language, tags=tags,
                       examples=examples)


ARTICLES: tuple[ArticleData, ...] = (
    _article("delivery", "en", "Delivery times and cost",
             "We deliver across the city **the same day** if you buy before 14:00, otherwise the next day."
             " Delivery costs 300 ₽ and is **free from 3,000 ₽**.\n\nTo other cities we ship by courier "
             "service in 2–5 working days; the cost is shown at checkout.",
             ("delivery", "shipping"),
             ("How long does delivery take?", "How much is shipping?", "Do you deliver to other cities?")),
    _article("delivery", "ru", "Сроки и стоимость доставки",
             "По городу доставляем **в тот же день**, если вы купили до 14:00, иначе — на следующий день. "
             "Доставка стоит 300 ₽, **от 3 000 ₽ — бесплатно**.\n\nВ другие города отправляем курьерской "
             "службой за 2–5 рабочих дней; стоимость видна при оформлении.",
             ("delivery", "shipping"),
             ("Сколько идёт доставка?", "Сколько стоит доставка?", "Доставляете в другие города?")),
    _article("returns", "en", "Returns and exchanges",
             "Unopened goods can be returned **within 14 days** of delivery. Write to us here with the receipt "
             "number and a photo of the package; we send a courier or you bring it to the shop.\n\n"
             "The money comes back to the card you paid with within 3–10 working days.",
             ("returns", "refund"),
             ("How do I return an item?", "Can I get a refund?", "I want to exchange an item")),
    _article("returns", "ru", "Возврат и обмен",
             "Товар в невскрытой упаковке можно вернуть **в течение 14 дней** после получения. Напишите нам "
             "сюда номер чека и фото упаковки — пришлём курьера или привезите его в магазин.\n\n"
             "Деньги вернутся на карту, которой вы платили, за 3–10 рабочих дней.",
             ("returns", "refund"),
             ("Как вернуть товар?", "Можно вернуть деньги?", "Хочу обменять товар")),
    _article("payment", "en", "Payment methods",
             "We take bank cards (Visa, Mastercard, Mir), SBP transfers and cash to the courier. Companies can "
             "pay by invoice — ask us here.\n\nA second charge you may see is a **hold**: the bank releases it "
             "within 3 working days.",
             ("payment",),
             ("How can I pay?", "Do you take cards?", "I was charged twice")),
    _article("payment", "ru", "Способы оплаты",
             "Принимаем банковские карты (Visa, Mastercard, Мир), переводы по СБП и наличные курьеру. "
             "Компании могут оплатить по счёту — спросите нас здесь.\n\nВторое списание, которое вы можете "
             "увидеть, — это **блокировка**: банк снимает её за 3 рабочих дня.",
             ("payment",),
             ("Как можно оплатить?", "Принимаете карты?", "Деньги списали дважды")),
    _article("hours", "en", "Opening hours and address",
             "The shop at 12 Green Street is open **Mon–Fri 9:00–20:00, Sat 10:00–18:00**, closed on Sundays. "
             "Our support answers here on working days 9:00–18:00; the bot answers at any time.",
             ("hours", "shop"),
             ("When are you open?", "What are your opening hours?", "Where is the shop?", "Are you open on Sunday?")),
    _article("hours", "ru", "Часы работы и адрес",
             "Магазин на Зелёной улице, 12 открыт **пн–пт 9:00–20:00, сб 10:00–18:00**, в воскресенье "
             "выходной. Поддержка отвечает здесь по будням с 9:00 до 18:00, бот — круглосуточно.",
             ("hours", "shop"),
             ("Когда вы работаете?", "Какой у вас график работы?", "Где находится магазин?",
              "Во сколько открывается магазин?")),
    _article("order-status", "en", "Where is my order?",
             "Tap **My orders** in the bot's menu: each order shows its status (accepted, preparing, out for "
             "delivery) and the bot writes to you when it changes. If the courier is late by more than an "
             "hour, tap *Talk to a human*.",
             ("orders", "delivery"),
             ("Where is my order?", "Track my order", "My order has not arrived", "The courier is late")),
    _article("order-status", "ru", "Где мой заказ?",
             "Нажмите **Мои заказы** в меню бота: у каждого заказа виден статус (принят, готовится, в пути), "
             "а когда он меняется, бот вам напишет. Если курьер опаздывает больше чем на час, нажмите "
             "*Позвать человека*.",
             ("orders", "delivery"),
             ("Где мой заказ?", "Какой статус заказа?", "Заказ не пришёл", "Курьер опаздывает")),
    _article("gift", "en", "Gift wrapping and cards",
             "Anything you buy can be gift-wrapped for 150 ₽, with a handwritten card for free: write the "
             "card's text in the comment at checkout.",
             ("gift", "shop"),
             ("Can you wrap it as a gift?", "Do you have gift cards?")),
    _article("gift", "ru", "Подарочная упаковка и открытки",
             "Любую покупку упакуем в подарочную бумагу за 150 ₽, открытку подпишем бесплатно — напишите текст "
             "в комментарии при оформлении.",
             ("gift", "shop"),
             ("Можно упаковать в подарок?", "Есть подарочные открытки?")),
)
