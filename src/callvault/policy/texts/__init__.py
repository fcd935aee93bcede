"""The bundled texts of policy version 1: the Swedish policy, its English translation, prompts.

They are templates: `{organisation}` (the short name), `{organisation_genitive}`,
`{legal_name}`, `{legal_name_genitive}`, `{website}` and `{dpo_contact}` are filled in from the
organisation's identity when a text is shown or played (callvault.policy.identity).
"""

from __future__ import annotations

import re
from importlib import resources

#: The policy exactly as adopted (a copy of samtalsinspelningspolicy.txt, line breaks and all).
ORIGINAL_SV = "samtalsinspelningspolicy.txt"

PLACEHOLDERS = (
    "organisation",
    "organisation_genitive",
    "legal_name",
    "legal_name_genitive",
    "website",
    "dpo_contact",
)
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


def bundled_text(name: str) -> str:
    """One of the files in this package, as text."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def swedish_genitive(name: str) -> str:
    """Swedish genitive of a name: 'Arlo' -> 'Arlos', 'Exempel AB' -> 'Exempel AB:s'.

    Names ending in s, x or z take no extra s; names ending in a capital letter or a digit (an
    abbreviation such as AB or DAC) take a colon before the s, as Swedish writes them.
    """
    name = name.strip()
    last = name[-1:]
    if last.lower() in {"s", "x", "z"}:
        return name
    if last.isupper() or last.isdigit():
        return f"{name}:s"
    return f"{name}s"


def english_genitive(name: str) -> str:
    """'Arlo Europe' -> 'Arlo Europe’s'; names ending in s take only the apostrophe."""
    name = name.strip()
    return f"{name}’" if name[-1:].lower() == "s" else f"{name}’s"


def fill(template: str, values: dict[str, str]) -> str:
    """The template with the known placeholders replaced; any other brace is left as written
    (a DPO's text may contain braces of its own)."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def one_line(text: str) -> str:
    """A prompt as it is spoken and hashed: on one line, single spaces."""
    return " ".join(text.split())


def prompt_template(language: str) -> str:
    """The default consent prompt template: §4's information text word for word (sv) or
    translated (en), on one line."""
    return one_line(bundled_text(f"prompt.{language}.txt"))


def policy_text(language: str) -> str:
    """Version 1's policy text template in paragraphs: Swedish as adopted, or the English
    translation."""
    return bundled_text(f"policy.{language}.txt")


def employee_basis_template(language: str) -> str:
    """The default legal basis for processing employees' data (Art. 13 for employees):
    legitimate interest. The DPO checks it and approves it, or another, in a policy draft."""
    return one_line(bundled_text(f"employee_basis.{language}.txt"))
