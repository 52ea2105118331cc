"""The English half of the knowledge-base evaluation set (see bench/kb_quality.py).

Written before the search was tuned, as customers of a small web shop write: whole sentences with
extra words, typos, synonyms, phrases typed in the Russian keyboard layout, and questions the
knowledge base has no article for (expected None). Articles carry tags and, for some of them, the
example questions an admin would add.
"""

from __future__ import annotations

# slug, title, tags, examples, body
ARTICLES: list[tuple[str, str, tuple[str, ...], tuple[str, ...], str]] = [
    ("en-delivery-times", "Delivery times", ("shipping", "delivery"), ("when will my order arrive",),
     "Orders leave our warehouse within one business day. Standard delivery takes 3 to 5 business days, "
     "express delivery 1 to 2 days. Remote areas may need two extra days."),
    ("en-delivery-cost", "Shipping costs and free delivery", ("shipping", "price"), (),
     "Standard delivery costs $5. Orders over $50 ship for free. Express delivery costs $15 regardless of "
     "the order total."),
    ("en-international", "International shipping", ("shipping", "abroad", "countries"), (),
     "We ship to 40 countries in Europe, North America and Asia. International parcels take 7 to 14 days. "
     "The list of countries is shown at checkout."),
    ("en-tracking", "Tracking your parcel", ("tracking", "parcel"), ("where is my package",),
     "When your order ships we email you a tracking number. Enter it on the carrier's website or open "
     "My orders to see where the parcel is. Tracking updates can lag by up to 24 hours."),
    ("en-change-address", "Changing the delivery address", ("address", "delivery"), (),
     "You can change the address while the order has not shipped: open My orders and press Edit address. "
     "Once the parcel is with the carrier, ask the carrier to redirect it."),
    ("en-pickup", "Collecting from a pickup point", ("pickup", "locker"), (),
     "Choose a pickup point or parcel locker at checkout. We text you a code when the parcel is there; "
     "it waits for 7 days. Bring the code and an ID."),
    ("en-returns", "How to return an item", ("returns", "return"), ("can i send it back",),
     "You can return unused items within 30 days of delivery. Print the return label from My orders, "
     "pack the item in its original packaging and drop it at any post office."),
    ("en-refund-time", "When will I get my refund", ("refund", "money"), (),
     "We refund within 5 business days after the returned item reaches our warehouse. The money goes back "
     "to the card you paid with; your bank may need a few more days to show it."),
    ("en-exchange", "Exchanging an item for another size", ("exchange", "size"), (),
     "To exchange, return the item and place a new order for the size you need. This is the fastest way: "
     "the new order ships at once, without waiting for the return."),
    ("en-damaged", "The item arrived damaged", ("damaged", "broken", "defect"), (),
     "If something arrived broken or defective, send us a photo of the item and of the packaging within "
     "14 days. We send a replacement or refund you, and the return is free."),
    ("en-missing-item", "An item is missing from the parcel", ("missing", "parcel"), (),
     "If a parcel came incomplete, check whether the order was split into several parcels (see My orders). "
     "If not, tell us which item is missing and we will send it."),
    ("en-payment-methods", "Payment methods", ("payment", "card", "paypal"), ("how can i pay",),
     "We accept Visa, Mastercard, American Express, PayPal, Apple Pay and Google Pay. Cash on delivery "
     "is not available."),
    ("en-payment-declined", "My card payment was declined", ("payment", "card", "declined"), (),
     "A declined payment usually means the bank blocked it: check the card details, the limit and 3-D Secure "
     "confirmation, or try another card. No money is taken for a declined payment."),
    ("en-installments", "Paying in installments", ("installments", "credit", "payment"), (),
     "Orders over $100 can be paid in 4 interest-free installments with Klarna. Choose Klarna at checkout; "
     "the first part is charged when the order ships."),
    ("en-invoice", "Invoices for companies and VAT", ("invoice", "vat", "company", "receipt"), (),
     "Every order comes with a receipt by email. A company can get a VAT invoice: enter the company name "
     "and VAT number at checkout, or ask us within 30 days."),
    ("en-promo", "Promo codes and discounts", ("promo", "discount", "coupon"), (),
     "Enter a promo code in the cart before paying. One code per order; codes do not apply to gift cards. "
     "If a code does not work, check its expiry date and conditions."),
    ("en-gift-cards", "Gift cards", ("gift card", "voucher"), (),
     "Gift cards from $10 to $500 are sent by email and valid for 2 years. They can pay for any product; "
     "the balance stays on the card."),
    ("en-cancel", "Cancelling an order", ("cancel", "order"), ("i want to cancel my order",),
     "An order can be cancelled until it ships: open My orders and press Cancel. The money returns to your "
     "card within 3 days. A shipped order can be refused at delivery or returned."),
    ("en-change-order", "Adding or removing items in an order", ("order", "edit"), (),
     "Items cannot be added to an order that is already paid. Place a second order; we ship them together "
     "if both are placed the same day. To remove an item, cancel the order and order again."),
    ("en-password", "Resetting your password", ("account", "password", "login"), ("i cannot log in",),
     "Press Forgot password on the sign-in page and enter your email. The reset link is valid for one "
     "hour; check the spam folder if it does not come."),
    ("en-delete-account", "Deleting your account and personal data", ("account", "privacy", "gdpr"), (),
     "You can delete your account in Settings, Privacy. We erase your personal data within 30 days, except "
     "what the law requires us to keep for invoices."),
    ("en-newsletter", "Unsubscribing from emails", ("newsletter", "email", "spam"), (),
     "Every newsletter has an Unsubscribe link at the bottom. You can also turn off marketing emails in "
     "Settings, Notifications. Order emails are always sent."),
    ("en-warranty", "Warranty and repairs", ("warranty", "repair", "guarantee"), (),
     "Electronics have a 2-year warranty. If a product stops working, contact us with the order number; we "
     "arrange a repair at an authorised service centre or replace it."),
    ("en-size-guide", "Size guide", ("size", "fit", "measurements"), ("what size should i take",),
     "Each product page has a size chart in centimetres and inches. Measure your chest, waist and hips and "
     "compare; if you are between sizes, take the larger one."),
    ("en-restock", "Out of stock items", ("stock", "restock", "availability"), (),
     "When a product is sold out, press Notify me on its page and we email you when it is back. Most "
     "items are restocked within 2 to 3 weeks."),
    ("en-loyalty", "Bonus points programme", ("loyalty", "points", "bonus"), (),
     "Members earn 1 point per dollar spent. 100 points give a $5 discount. Points expire after 12 months "
     "without purchases."),
    ("en-store-hours", "Our shop address and opening hours", ("shop", "address", "hours"), (),
     "Our showroom is at 12 Market Street, open Monday to Saturday from 10:00 to 20:00. You can try on and "
     "collect online orders there."),
    ("en-contact", "Contacting support", ("support", "contact", "phone"), (),
     "Support answers in this chat every day from 9:00 to 21:00. You can also call +1 555 0100 or write to "
     "help@example.com."),
    ("en-price-drop", "Price drop after purchase", ("price", "guarantee"), (),
     "If the price of an item you bought drops within 14 days, we refund the difference as bonus points. "
     "Send us the order number."),
    ("en-gift-wrap", "Gift wrapping and messages", ("gift", "wrapping"), (),
     "Add gift wrapping in the cart for $3 and write a message for the card. Gift-wrapped parcels have no "
     "prices inside."),
    ("en-confirmation", "I did not receive the order confirmation", ("confirmation", "email", "order"), (),
     "The confirmation email comes within minutes. Check the spam folder and the address in your account. "
     "The order is also visible in My orders."),
    ("en-customs", "Customs duties and import taxes", ("customs", "duties", "tax"), (),
     "Orders outside the EU may be charged import duties and taxes by your country's customs. They are not "
     "included in our prices and are paid to the carrier."),
]

# question, expected slug (None: the knowledge base has no article for it)
QUESTIONS: list[tuple[str, str | None]] = [
    # delivery times
    ("how long does shipping take", "en-delivery-times"),
    ("How many days will it take for my order to get to me?", "en-delivery-times"),
    ("when do you deliver", "en-delivery-times"),
    ("hi, I ordered a jacket on monday, how soon will it come?", "en-delivery-times"),
    ("delivery time", "en-delivery-times"),
    ("how long is delivry", "en-delivery-times"),
    ("do you have express shipping, i need it fast", "en-delivery-times"),
    # delivery cost
    ("how much is shipping", "en-delivery-cost"),
    ("is delivery free?", "en-delivery-cost"),
    ("what does postage cost for a small order", "en-delivery-cost"),
    ("Do I pay for shipping if I spend more than 50 dollars?", "en-delivery-cost"),
    ("shiping price", "en-delivery-cost"),
    # international
    ("do you ship to canada", "en-international"),
    ("Can you send my order abroad? I live in Japan", "en-international"),
    ("which countries do you deliver to", "en-international"),
    ("worldwide shipping?", "en-international"),
    ("international delivery how long", "en-international"),
    # tracking
    ("where is my parcel", "en-tracking"),
    ("how do I track my order", "en-tracking"),
    ("I have not got a tracking number yet, where can I see my package?", "en-tracking"),
    ("trackign number", "en-tracking"),
    ("my parcel status has not changed for two days", "en-tracking"),
    ("order status", "en-tracking"),
    # change address
    ("I put the wrong address, can I change it?", "en-change-address"),
    ("change shipping address", "en-change-address"),
    ("i moved house, please send the parcel to my new adress", "en-change-address"),
    ("how to edit the delivery address after ordering", "en-change-address"),
    # pickup
    ("can I pick up my order from a locker", "en-pickup"),
    ("how long will the pickup point keep my parcel", "en-pickup"),
    ("collect from pick-up point", "en-pickup"),
    ("what do I need to bring to collect a parcel at the pickup point", "en-pickup"),
    # returns
    ("how do I return something", "en-returns"),
    ("I want to send back the shoes, they don't fit", "en-returns"),
    ("return policy", "en-returns"),
    ("can i retrun an item i bought 2 weeks ago", "en-returns"),
    ("where do I get a return label", "en-returns"),
    ("I don't like the dress, can I give it back?", "en-returns"),
    # refund time
    ("when will I get my money back", "en-refund-time"),
    ("I returned the parcel a week ago and still no refund", "en-refund-time"),
    ("how long does a refund take", "en-refund-time"),
    ("refnd not received", "en-refund-time"),
    ("will the money go back to my card?", "en-refund-time"),
    # exchange
    ("can I exchange for a bigger size", "en-exchange"),
    ("the shirt is too small, I want a different size", "en-exchange"),
    ("swap item for another size", "en-exchange"),
    ("exhange size", "en-exchange"),
    # damaged
    ("my order arrived broken", "en-damaged"),
    ("the vase came damaged, what do I do?", "en-damaged"),
    ("item is defective", "en-damaged"),
    ("the box was crushed and the cup inside is cracked", "en-damaged"),
    ("recieved a damged product", "en-damaged"),
    # missing item
    ("one item is missing from my parcel", "en-missing-item"),
    ("I only got 2 of the 3 things I ordered", "en-missing-item"),
    ("package incomplete", "en-missing-item"),
    ("part of my order did not come", "en-missing-item"),
    # payment methods
    ("what payment methods do you accept", "en-payment-methods"),
    ("can I pay with paypal?", "en-payment-methods"),
    ("do you take apple pay", "en-payment-methods"),
    ("is cash on delivery possible", "en-payment-methods"),
    ("which cards can I use to pay", "en-payment-methods"),
    # declined
    ("my card was declined", "en-payment-declined"),
    ("payment failed at checkout, why?", "en-payment-declined"),
    ("it says transaction declined but I have money on the card", "en-payment-declined"),
    ("payment not going through", "en-payment-declined"),
    ("card rejected", "en-payment-declined"),
    # installments
    ("can I pay in installments", "en-installments"),
    ("do you offer klarna or pay later", "en-installments"),
    ("is it possible to split the payment into parts", "en-installments"),
    ("buy now pay later", "en-installments"),
    # invoice
    ("I need an invoice for my company", "en-invoice"),
    ("how do I get a VAT invoice", "en-invoice"),
    ("can you send me a receipt", "en-invoice"),
    ("invoce with company details please", "en-invoice"),
    # promo
    ("my promo code doesn't work", "en-promo"),
    ("where do I enter a discount code", "en-promo"),
    ("can I use two coupons on one order", "en-promo"),
    ("promocode not valid", "en-promo"),
    ("do you have any discounts?", "en-promo"),
    # gift cards
    ("do you sell gift cards", "en-gift-cards"),
    ("how long is a gift card valid", "en-gift-cards"),
    ("I want to buy a voucher for my friend", "en-gift-cards"),
    ("gift certificate balance", "en-gift-cards"),
    # cancel
    ("how do I cancel my order", "en-cancel"),
    ("I ordered by mistake, please cancel it", "en-cancel"),
    ("cancel order", "en-cancel"),
    ("i changed my mind, can i cancell the purchase", "en-cancel"),
    ("can I still cancel if it already shipped", "en-cancel"),
    # change order
    ("can I add an item to my order", "en-change-order"),
    ("I forgot to add socks to my order, can you add them?", "en-change-order"),
    ("remove a product from my order", "en-change-order"),
    ("modify my order", "en-change-order"),
    # password
    ("I forgot my password", "en-password"),
    ("can't sign in to my account", "en-password"),
    ("password reset link doesn't arrive", "en-password"),
    ("how to change pasword", "en-password"),
    ("login problem", "en-password"),
    # delete account
    ("how do I delete my account", "en-delete-account"),
    ("please erase all my personal data", "en-delete-account"),
    ("close my account", "en-delete-account"),
    ("gdpr data removal request", "en-delete-account"),
    # newsletter
    ("how do I unsubscribe from your emails", "en-newsletter"),
    ("stop sending me newsletters", "en-newsletter"),
    ("too many marketing emails", "en-newsletter"),
    ("unsubscrbe", "en-newsletter"),
    # warranty
    ("what is the warranty on headphones", "en-warranty"),
    ("my kettle stopped working after 3 months", "en-warranty"),
    ("where can I get it repaired", "en-warranty"),
    ("guarantee period", "en-warranty"),
    ("waranty claim", "en-warranty"),
    # size guide
    ("what size should I order", "en-size-guide"),
    ("do your sizes run small", "en-size-guide"),
    ("size chart for jeans", "en-size-guide"),
    ("I'm between M and L, which to pick?", "en-size-guide"),
    # restock
    ("when will this be back in stock", "en-restock"),
    ("the item I want is sold out", "en-restock"),
    ("notify me when available", "en-restock"),
    ("out of stok", "en-restock"),
    # loyalty
    ("how do bonus points work", "en-loyalty"),
    ("how many points do I have and when do they expire", "en-loyalty"),
    ("loyalty program", "en-loyalty"),
    ("can I pay with my points", "en-loyalty"),
    # store hours
    ("what are your opening hours", "en-store-hours"),
    ("do you have a physical store", "en-store-hours"),
    ("where is your shop located", "en-store-hours"),
    ("are you open on sunday", "en-store-hours"),
    # contact
    ("what is your phone number", "en-contact"),
    ("how can I contact customer service", "en-contact"),
    ("I want to talk to support by email", "en-contact"),
    # price drop
    ("the price went down a day after I bought it", "en-price-drop"),
    ("do you refund the difference if the price drops", "en-price-drop"),
    ("price protection", "en-price-drop"),
    # gift wrap
    ("can you gift wrap my order", "en-gift-wrap"),
    ("I want to add a message card to a present", "en-gift-wrap"),
    ("gift packaging", "en-gift-wrap"),
    # confirmation
    ("I didn't get an order confirmation email", "en-confirmation"),
    ("no confirmation after paying, did my order go through?", "en-confirmation"),
    ("confirmation mail missing", "en-confirmation"),
    # customs
    ("will I have to pay customs", "en-customs"),
    ("are import taxes included in the price", "en-customs"),
    ("the courier asks for a duty payment", "en-customs"),
    # typed in the Russian keyboard layout (see LAYOUT below)
    ("LAYOUT:how long does shipping take", "en-delivery-times"),
    ("LAYOUT:refund", "en-refund-time"),
    ("LAYOUT:cancel order", "en-cancel"),
    ("LAYOUT:forgot password", "en-password"),
    ("LAYOUT:promo code", "en-promo"),
    # no article for these
    ("do you sell furniture", None),
    ("what is the weather tomorrow", None),
    ("are your products vegan", None),
    ("can I book a table for two", None),
    ("is your company hiring", None),
    ("do you have a mobile app for android", None),
    ("tell me a joke", None),
    ("how do I become a wholesale partner", None),
    ("what materials is the bag made of", None),
    ("can I bring my dog to the showroom", None),
    ("do you plant a tree for every order", None),
    ("who is the owner of the company", None),
    ("can I sell my own products on your site", None),
    ("asdfgh", None),
    ("hello", None),
]
