"""The bundled texts of policy version 1: the Swedish policy, its English translation, prompts."""

from __future__ import annotations

from importlib import resources

from callvault.config import Settings

#: The policy exactly as adopted (a copy of samtalsinspelningspolicy.txt, line breaks and all).
ORIGINAL_SV = "samtalsinspelningspolicy.txt"


def bundled_text(name: str) -> str:
    """One of the files in this package, as text."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def swedish_genitive(name: str) -> str:
    """'Arlo Europe' -> 'Arlo Europes'; names ending in s, x or z take no extra s."""
    return name if name[-1:].lower() in {"s", "x", "z"} else f"{name}s"


def english_genitive(name: str) -> str:
    """'Arlo Europe' -> 'Arlo Europe’s'; names ending in s take only the apostrophe."""
    return f"{name}’" if name[-1:].lower() == "s" else f"{name}’s"


def render_prompt(template: str, settings: Settings, language: str) -> str:
    """The spoken consent prompt: the template with the organisation filled in, on one line.

    The result is stored in the policy version and hashed into the consent evidence, so it is
    rendered once, when the version is created, never at call time.
    """
    name = settings.organisation_name.strip()
    genitive = swedish_genitive(name) if language == "sv" else english_genitive(name)
    filled = template.format(
        organisation=name,
        organisation_genitive=genitive,
        website=settings.organisation_website.strip(),
        dpo_contact=settings.dpo_contact.strip(),
    )
    return " ".join(filled.split())


def default_prompt(settings: Settings, language: str) -> str:
    """The default consent prompt: §4's information text word for word (sv) or translated (en)."""
    return render_prompt(bundled_text(f"prompt.{language}.txt"), settings, language)


def policy_text(language: str) -> str:
    """Version 1's policy text in paragraphs: Swedish as adopted, or the English translation."""
    return bundled_text(f"policy.{language}.txt")
