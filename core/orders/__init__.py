"""Orders and partners: stores, staff, products, orders, their one transition table and use cases."""
