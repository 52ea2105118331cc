"""Knowledge base: articles, search (full text + trigram), feedback, import/export."""
