"""The English held-out questions of the knowledge-base evaluation (see bench/kb_quality.py).

Written before the third round of tuning and never edited after its commit: the search is tuned on
bench/kb_set_en.py and only *checked* on these. Same articles as the main set (imported from it);
questions as customers write them: long sentences, typos, slang, the Russian keyboard layout
(LAYOUT:), words the knowledge base does not contain, and questions with no article (None).
"""

from __future__ import annotations

from bench.kb_set_en import ARTICLES

__all__ = ["ARTICLES", "QUESTIONS"]

QUESTIONS: list[tuple[str, str | None]] = [
    # delivery times
    ("hey guys, I placed an order 3 days ago and was wondering roughly when it will show up at my door",
     "en-delivery-times"),
    ("whats the eta on standard shipping", "en-delivery-times"),
    ("how quick is express", "en-delivery-times"),
    ("delivery takes how many business days?", "en-delivery-times"),
    # delivery cost
    ("do u charge for delivery", "en-delivery-cost"),
    ("is there a minimum order for free shipping", "en-delivery-cost"),
    ("how much do you charge for express delivery", "en-delivery-cost"),
    # international
    ("I'm in Australia, can I order from you?", "en-international"),
    ("do you deliver outside the US", "en-international"),
    ("internatonal shiping", "en-international"),
    # tracking
    ("my package still hasn't arrived, can you check where it is?", "en-tracking"),
    ("where can i find the tracking code", "en-tracking"),
    ("LAYOUT:track my parcel", "en-tracking"),
    ("wheres my stuff", "en-tracking"),
    # change address
    ("I typed my old address by mistake, the order hasn't shipped yet, can you fix it", "en-change-address"),
    ("can i redirect my parcel to a different address", "en-change-address"),
    # pickup
    ("is there a parcel locker option near me at checkout", "en-pickup"),
    ("do I need ID to pick up at the pickup point", "en-pickup"),
    ("how many days does the locker hold my order", "en-pickup"),
    # returns
    ("hi, the trainers I got are the wrong colour and I'd like to send them back for a refund", "en-returns"),
    ("how many days do I have to return stuff", "en-returns"),
    ("retrun label", "en-returns"),
    ("LAYOUT:return", "en-returns"),
    # refund time
    ("you got my return last week but the money is still not on my card", "en-refund-time"),
    ("how many days until the refund shows up", "en-refund-time"),
    ("where is my refund??", "en-refund-time"),
    # exchange
    ("the boots are a size too big, can I swap them for a smaller pair", "en-exchange"),
    ("want to exchange a shirt for a medium", "en-exchange"),
    # damaged
    ("the screen of the tablet was smashed when I opened the box", "en-damaged"),
    ("got a faulty item, the zip is broken", "en-damaged"),
    ("product arived damagd", "en-damaged"),
    # missing item
    ("the box came but the charger wasn't in it", "en-missing-item"),
    ("items missing from my order", "en-missing-item"),
    # payment methods
    ("do you accept google pay", "en-payment-methods"),
    ("can i pay by mastercard", "en-payment-methods"),
    ("what ways can I pay for my order", "en-payment-methods"),
    # declined
    ("why does my bank keep blocking the payment on your site", "en-payment-declined"),
    ("payment got rejected but money was taken?", "en-payment-declined"),
    ("card declned", "en-payment-declined"),
    # installments
    ("can I spread the cost over a few months", "en-installments"),
    ("klarna available?", "en-installments"),
    # invoice
    ("we are a business and need a proper VAT invoice for our accountant", "en-invoice"),
    ("where's my receipt for the order", "en-invoice"),
    # promo
    ("the coupon code says expired but it should still be valid", "en-promo"),
    ("got a discount code in an email, where do i put it", "en-promo"),
    ("LAYOUT:discount", "en-promo"),
    # gift cards
    ("can I buy an e-gift card for my sister's birthday", "en-gift-cards"),
    ("how do I check how much is left on my voucher", "en-gift-cards"),
    # cancel
    ("please stop my order, I don't need it anymore", "en-cancel"),
    ("how can I cancel an order I placed an hour ago", "en-cancel"),
    ("cancle my order pls", "en-cancel"),
    # change order
    ("is it possible to add one more thing to an order I already paid for", "en-change-order"),
    ("can I take an item out of my order before it ships", "en-change-order"),
    # password
    ("i cant log into my account, forgot the password", "en-password"),
    ("reset password email never came", "en-password"),
    ("LAYOUT:password", "en-password"),
    # delete account
    ("I want you to remove my account and all the data you hold about me", "en-delete-account"),
    ("delete profile", "en-delete-account"),
    # newsletter
    ("how do i stop getting promo emails from you", "en-newsletter"),
    ("opt out of newsletter", "en-newsletter"),
    # warranty
    ("my headphones broke after a year of use, are they still under warranty?", "en-warranty"),
    ("how long is the guarantee on electronics", "en-warranty"),
    # size guide
    ("how do I measure myself to pick the right size", "en-size-guide"),
    ("do the jeans fit true to size", "en-size-guide"),
    # restock
    ("will the blue sweater be restocked soon", "en-restock"),
    ("item unavailable, when back?", "en-restock"),
    # loyalty
    ("how do I earn reward points", "en-loyalty"),
    ("do my bonus points expire", "en-loyalty"),
    # store hours
    ("what time does your store close on saturday", "en-store-hours"),
    ("can I try things on in your showroom", "en-store-hours"),
    # contact
    ("is there a number I can call to speak to someone", "en-contact"),
    ("what's your support email address", "en-contact"),
    # price drop
    ("I bought a coat and now it's cheaper, can I get the difference back", "en-price-drop"),
    # gift wrap
    ("can you wrap it as a present and put a note inside", "en-gift-wrap"),
    # confirmation
    ("paid but never got an email confirming the order", "en-confirmation"),
    # customs
    ("will there be extra charges at customs for delivery to the UK", "en-customs"),
    ("do I pay import duty", "en-customs"),
    # no article for these
    ("do you do custom engraving on jewellery", None),
    ("can you recommend a good gaming laptop", None),
    ("are your clothes made in china", None),
    ("do you recycle old clothes", None),
    ("how old is the company", None),
    ("do you sell spare parts for bikes", None),
    ("can I get a job in your warehouse", None),
    ("thanks a lot", None),
    ("qwerty", None),
]
