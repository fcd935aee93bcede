"""Languages of the web interface: Swedish by default, English one click away (gettext/Babel)."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

LANGUAGES: tuple[str, ...] = ("sv", "en")
DEFAULT_LANGUAGE = "sv"
LANGUAGE_COOKIE = "callvault_lang"
LOCALE_DIR = Path(__file__).parent / "locale"
# Times are stored in UTC and shown in the organisation's local time.
DISPLAY_TIMEZONE = ZoneInfo("Europe/Stockholm")

_current: contextvars.ContextVar[str] = contextvars.ContextVar(
    "callvault_web_language", default=DEFAULT_LANGUAGE
)


def normalise_language(value: str | None) -> str | None:
    """`sv`, `sv-SE` or `EN` to a supported language code, or None."""
    if not value:
        return None
    code = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return code if code in LANGUAGES else None


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue for a language (msgids are English, so English needs none)."""
    loaded = Translations.load(str(LOCALE_DIR), [language], domain="messages")
    return loaded


def current_language() -> str:
    return _current.get()


@contextmanager
def using_language(language: str) -> Iterator[None]:
    """Render or format in `language` for the duration of the block."""
    token = _current.set(normalise_language(language) or DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ngettext(singular, plural, n)


def _locale() -> Locale:
    return Locale.parse("sv_SE" if current_language() == "sv" else "en_GB")


def format_when(value: datetime | None, style: str = "medium") -> str:
    """A UTC time in the organisation's time zone, in the current language."""
    if value is None:
        return "–"
    return format_datetime(value, format=style, tzinfo=DISPLAY_TIMEZONE, locale=_locale())


def format_day(value: datetime | None) -> str:
    if value is None:
        return "–"
    return format_date(value.astimezone(DISPLAY_TIMEZONE), format="medium", locale=_locale())


def format_number(value: float | int | None) -> str:
    return "–" if value is None else format_decimal(value, locale=_locale())


def format_share(value: float | None) -> str:
    return "–" if value is None else format_percent(value, format="#,##0.0 %", locale=_locale())


def format_bytes(value: int | None) -> str:
    if value is None:
        return "–"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{format_decimal(round(size, 1), locale=_locale())} {unit}"
        size /= 1024
    return str(value)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_last_day(end: datetime | None) -> str:
    """The last day a period ending (exclusively) at `end` covers, in the organisation's time
    zone: a period that ends at midnight Stockholm time ends with the day before."""
    if end is None:
        return "–"
    local = end.astimezone(DISPLAY_TIMEZONE)
    if local.time() == time.min:
        local -= timedelta(days=1)
    return format_date(local, format="medium", locale=_locale())
