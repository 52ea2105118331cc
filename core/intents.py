"""Intents as data (core/intents.json): a short message that is, or contains, one of an intent's
phrases means that intent. Long messages are questions, not commands."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

INTENTS_FILE = Path(__file__).with_name("intents.json")
MAX_WORDS = 8


@dataclass(frozen=True)
class Intents:
    phrases: dict[str, tuple[str, ...]]
    commands: dict[str, str]

    def match(self, text: str) -> str | None:
        normalized = normalize(text)
        if not normalized:
            return None
        first = text.strip().split()[0].lower().split("@")[0] if text.strip() else ""
        if first in self.commands:
            return self.commands[first]
        if len(normalized.split()) > MAX_WORDS:
            return None
        for name, phrases in self.phrases.items():
            for phrase in phrases:
                if normalized == phrase or re.search(rf"(^| ){re.escape(phrase)}( |$)", normalized):
                    return name
        return None


def normalize(text: str) -> str:
    lowered = text.lower().replace("ё", "е")
    return " ".join(re.sub(r"[^\w\s']", " ", lowered).split())


def load_intents(path: Path = INTENTS_FILE) -> Intents:
    raw = json.loads(path.read_text(encoding="utf-8"))
    phrases = {name: tuple(sorted({normalize(p) for p in spec.get("phrases", [])}, key=len, reverse=True))
               for name, spec in raw.items()}
    commands = {command.lower(): name for name, spec in raw.items() for command in spec.get("commands", [])}
    return Intents(phrases, commands)
