"""Every string a customer, partner or operator reads has a Russian translation."""

from pathlib import Path

from babel.messages.extract import extract_from_dir

from core.i18n import load_translator, read_catalog

ROOT = Path(__file__).resolve().parents[2]
PY_KEYWORDS = {"tr": None, "N_": None, "gettext": (2,), "ngettext": (2, 3), "trn": (1, 2)}
JINJA_KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def marked_strings() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in ("core", "bot", "web", "cli"):
        for text, where in marked_strings_of(package).items():
            found.setdefault(text, where)
    return found


def test_every_marked_string_has_a_russian_translation() -> None:
    russian = load_translator().catalogs["ru"]
    missing = {text: where for text, where in marked_strings().items() if text not in russian}
    assert missing == {}


def test_catalogs_parse_and_have_no_duplicate_ids_across_areas() -> None:
    seen: dict[str, str] = {}
    clashes = []
    for po_file in sorted((ROOT / "locales" / "ru" / "LC_MESSAGES").glob("*.po")):
        for key, value in read_catalog(po_file).items():
            if key in seen and seen[key] != value:
                clashes.append((key, po_file.name))
            seen[key] = value
    assert clashes == []


def test_placeholders_survive_translation() -> None:
    russian = load_translator().catalogs["ru"]
    broken = []
    for source, translated in russian.items():
        for form in translated if isinstance(translated, tuple) else (translated,):
            for name in _placeholders(source):
                if "{" + name + "}" not in form and name != "n":
                    broken.append((source, name))
    assert broken == []


def _placeholders(text: str) -> set[str]:
    import string

    return {field for _lit, field, _spec, _conv in string.Formatter().parse(text) if field}


ADAPTER_CATALOGS = ("bot.po", "panel.po")  # a channel's or the panel's own texts


def test_what_core_says_is_not_translated_in_an_adapters_catalog() -> None:
    """A string marked only in core/ (the dialogue, offline alerts, notices) is translated once for every
    channel, in a core area's catalog (core.po, sla.po, ...): an adapter's catalog goes with the adapter."""
    only_core = set(marked_strings_of("core")).difference(*(marked_strings_of(p) for p in ("bot", "web", "cli")))
    catalogs = ROOT / "locales" / "ru" / "LC_MESSAGES"
    in_adapters = {text: name for name in ADAPTER_CATALOGS for text in read_catalog(catalogs / name)}
    assert {text: name for text, name in in_adapters.items() if text in only_core} == {}
    assert only_core <= set(read_catalog(catalogs / "core.po")).union(
        *(read_catalog(path) for path in catalogs.glob("*.po") if path.name not in ADAPTER_CATALOGS))


def marked_strings_of(package: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _ctx in extract_from_dir(
        ROOT / package,
        method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
        keywords={**PY_KEYWORDS, **JINJA_KEYWORDS},
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.setdefault(text, f"{package}/{filename}:{lineno}")
    return found
