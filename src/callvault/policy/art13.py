"""GDPR Art. 13 information for callers and employees, in Swedish and English (§5)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from callvault.errors import InvalidInput
from callvault.policy.identity import identity_in_force
from callvault.policy.models import PolicyVersion
from callvault.policy.service import version_in_force
from callvault.policy.texts import employee_basis_template
from callvault.runtime import Runtime

Audience = Literal["caller", "employee"]
Language = Literal["sv", "en"]

_T: dict[str, dict[str, str]] = {
    "title_caller": {
        "sv": "Information om inspelning av samtal till kundtjänst",
        "en": "Information about the recording of calls to customer service",
    },
    "title_employee": {
        "sv": "Information till medarbetare i kundserviceteamet om samtalsinspelning",
        "en": "Information for customer service employees about call recording",
    },
    "controller": {"sv": "Personuppgiftsansvarig", "en": "Controller"},
    "dpo": {"sv": "Dataskyddsombud", "en": "Data protection officer"},
    "purposes": {"sv": "Ändamål", "en": "Purposes"},
    "legal_basis": {"sv": "Rättslig grund", "en": "Legal basis"},
    "retention": {"sv": "Lagringstid", "en": "Retention"},
    "data": {"sv": "Personuppgifter som behandlas", "en": "Personal data processed"},
    "recipients": {"sv": "Vem som får tillgång", "en": "Who has access"},
    "rights": {"sv": "Dina rättigheter", "en": "Your rights"},
    "withdraw": {"sv": "Så återkallar du samtycket", "en": "How to withdraw consent"},
    "questions_employee": {
        "sv": "Frågor, registerutdrag och radering",
        "en": "Questions, access and erasure",
    },
    "basis_caller": {
        "sv": "Ditt samtycke (artikel 6.1 a i dataskyddsförordningen). Samtalet spelas in endast "
        "om du trycker 1 efter informationstexten; trycker du 2, eller trycker du ingenting, "
        "kopplas samtalet utan inspelning.",
        "en": "Your consent (Article 6(1)(a) GDPR). The call is recorded only if you press 1 "
        "after the information text; if you press 2, or press nothing, the call is connected "
        "without recording.",
    },
    "data_caller": {
        "sv": "Din röst och den information du lämnar under samtalet, ditt telefonnummer "
        "(krypterat) och beviset på ditt samtycke: när du tryckte 1, vilken policyversion och "
        "vilken informationstext du fick höra.",
        "en": "Your voice and the information you give during the call, your telephone number "
        "(encrypted) and the evidence of your consent: when you pressed 1, the policy version "
        "and the information text you heard.",
    },
    "data_employee": {
        "sv": "Din röst och den information du lämnar under inspelade samtal, samt ditt "
        "medarbetar-id kopplat till inspelningen.",
        "en": "Your voice and the information you give during recorded calls, and your agent "
        "id linked to the recording.",
    },
    "retention_text": {
        "sv": "Inspelningen raderas automatiskt när lagringstiden för dess ändamål har löpt ut "
        "(den längsta av ändamålens lagringstider). Återkallas samtycket raderas inspelningen "
        "och samtyckesbeviset utan dröjsmål. Telefonileverantörens kopia raderas så snart "
        "inspelningen har hämtats.",
        "en": "The recording is deleted automatically when the retention period of its purposes "
        "has run out (the longest of them). If consent is withdrawn, the recording and the "
        "consent evidence are deleted without delay. The telephony provider's copy is deleted "
        "as soon as the recording has been fetched.",
    },
    "recipients_text": {
        "sv": "Åtkomst styrs av dataskyddsombudet, som ger åtkomst till chefer som ansvarar för "
        "utbildning och kvalitetssäkring (§6). Inspelningar för utbildning pseudonymiseras. "
        "Telefonileverantören behandlar samtalet som personuppgiftsbiträde.",
        "en": "Access is controlled by the data protection officer, who grants it to managers "
        "responsible for training and quality assurance (§6). Recordings used for training are "
        "pseudonymised. The telephony provider processes the call as a processor.",
    },
    "rights_text": {
        "sv": "Du har rätt att få tillgång till dina personuppgifter (registerutdrag), att få "
        "felaktiga uppgifter rättade, att få uppgifterna raderade, att begära begränsning av "
        "behandlingen, att få ut uppgifterna (dataportabilitet) och att när som helst återkalla "
        "ditt samtycke utan att det påverkar lagligheten av behandlingen innan samtycket "
        "återkallades. Du kan lämna klagomål till en tillsynsmyndighet, i Sverige "
        "Integritetsskyddsmyndigheten (IMY).",
        "en": "You have the right of access to your personal data, to have incorrect data "
        "rectified, to have the data erased, to restrict the processing, to data portability, "
        "and to withdraw your consent at any time without affecting the lawfulness of the "
        "processing before the withdrawal. You may lodge a complaint with a supervisory "
        "authority, in Sweden the Swedish Authority for Privacy Protection (IMY).",
    },
    "rights_employee": {
        "sv": "Du har rätt att få tillgång till dina personuppgifter (registerutdrag), att få "
        "felaktiga uppgifter rättade, att få uppgifterna raderade, att begära begränsning av "
        "behandlingen och att invända mot behandling som grundar sig på ett berättigat intresse "
        "(artikel 21). Du kan lämna klagomål till en tillsynsmyndighet, i Sverige "
        "Integritetsskyddsmyndigheten (IMY).",
        "en": "You have the right of access to your personal data, to have incorrect data "
        "rectified, to have the data erased, to restrict the processing and to object to "
        "processing based on a legitimate interest (Article 21). You may lodge a complaint with "
        "a supervisory authority, in Sweden the Swedish Authority for Privacy Protection (IMY).",
    },
    "withdraw_keypad": {
        "sv": "Tryck 9 medan informationstexten spelas upp när du ringer kundtjänst.",
        "en": "Press 9 while the information text is played when you call customer service.",
    },
    "withdraw_number": {
        "sv": "Ring återkallelsenumret {number}: samtalet registrerar återkallelsen direkt.",
        "en": "Call the withdrawal number {number}: the call registers the withdrawal at once.",
    },
    "withdraw_dpo": {
        "sv": "Kontakta dataskyddsombudet: {dpo}.",
        "en": "Contact the data protection officer: {dpo}.",
    },
    "withdraw_effect": {
        "sv": "Inspelningarna från ditt nummer raderas och du får en referens som bekräftelse.",
        "en": "The recordings from your number are deleted and you are given a reference as "
        "confirmation.",
    },
    "withdraw_employee": {
        "sv": "Frågor om inspelningar där du medverkar, och begäran om registerutdrag eller "
        "radering, ställs till dataskyddsombudet: {dpo}.",
        "en": "Questions about recordings you take part in, and requests for access or "
        "erasure, go to the data protection officer: {dpo}.",
    },
    "days": {"sv": "{n} dagar", "en": "{n} days"},
    "kept": {"sv": "Sparas i {n} dagar.", "en": "Kept for {n} days."},
}


def _t(key: str, language: str, **values: object) -> str:
    return _T[key][language].format(**values)


def employee_basis(version: PolicyVersion, language: str) -> str:
    """The version's legal basis for employees' data (a template), or the bundled default."""
    own = version.employee_basis_sv if language == "sv" else version.employee_basis_en
    return own or employee_basis_template(language)


def art13_information(
    session: Session, runtime: Runtime, audience: str, language: str
) -> dict[str, object]:
    """Art. 13 information from the version in force: structured fields and ready sections.

    `sections` is a list of {"heading", "paragraphs"} for a page to render in order; the other
    keys give the same facts as data (for the API and tests).
    """
    if audience not in ("caller", "employee"):
        raise InvalidInput("audience must be 'caller' or 'employee'")
    if language not in ("sv", "en"):
        raise InvalidInput("language must be 'sv' or 'en'")
    settings = runtime.settings
    version = version_in_force(session, runtime.clock.now())
    purposes = [
        {
            "code": p.code,
            "description": p.description_sv if language == "sv" else p.description_en,
            "retention_days": p.retention_days,
            "variants": list(p.variants),
        }
        for p in version.purposes
        # a purpose that keeps results about employees (no variants: no recording) is theirs
        if p.variants or audience == "employee"
    ]
    identity = identity_in_force(session, settings)
    dpo = identity.dpo_contact
    if audience == "caller":
        withdraw = [_t("withdraw_keypad", language)]
        if settings.withdrawal_number:
            withdraw.append(_t("withdraw_number", language, number=settings.withdrawal_number))
        withdraw += [_t("withdraw_dpo", language, dpo=dpo), _t("withdraw_effect", language)]
    else:
        withdraw = [_t("withdraw_employee", language, dpo=dpo)]
    controller = {
        "name": identity.legal_name,
        "short_name": identity.short_name,
        "website": identity.website,
    }
    if audience == "caller":
        legal_basis = _t("basis_caller", language)
    else:
        legal_basis = identity.fill(employee_basis(version, language), language)
    rights = _t("rights_text" if audience == "caller" else "rights_employee", language)
    retention_lines = [
        _retention_line(str(p["description"]), int(str(p["retention_days"])), language)
        for p in purposes
    ]
    sections = [
        {
            "heading": _t("controller", language),
            "paragraphs": [f"{controller['name']} ({controller['website']})"],
        },
        {"heading": _t("dpo", language), "paragraphs": [dpo]},
        {
            "heading": _t("purposes", language),
            "paragraphs": [str(p["description"]) for p in purposes],
        },
        {"heading": _t("legal_basis", language), "paragraphs": [legal_basis]},
        {"heading": _t("data", language), "paragraphs": [_t(f"data_{audience}", language)]},
        {"heading": _t("recipients", language), "paragraphs": [_t("recipients_text", language)]},
        {
            "heading": _t("retention", language),
            "paragraphs": [*retention_lines, _t("retention_text", language)],
        },
        {"heading": _t("rights", language), "paragraphs": [rights]},
        {
            # Employees' data is not processed on their consent: nothing to withdraw.
            "heading": _t("withdraw" if audience == "caller" else "questions_employee", language),
            "paragraphs": withdraw,
        },
    ]
    return {
        "audience": audience,
        "language": language,
        "title": _t(f"title_{audience}", language),
        "policy_version": version.number,
        "effective_from": version.effective_from.isoformat(),
        "controller": controller,
        "dpo_contact": dpo,
        "purposes": purposes,
        "legal_basis": legal_basis,
        "retention": {
            "by_purpose": {str(p["code"]): p["retention_days"] for p in purposes},
            "text": _t("retention_text", language),
        },
        "rights": rights,
        "legal_basis_checked_by_dpo": audience == "caller" or version.employee_basis_sv is not None,
        "how_to_withdraw": withdraw,
        "withdrawal_number": settings.withdrawal_number if audience == "caller" else None,
        "sections": sections,
    }


def _retention_line(description: str, days: int, language: str) -> str:
    """ "<description> Kept for 90 days.", the description ending its own sentence."""
    text = description.rstrip()
    separator = " " if text.endswith((".", "!", "?")) else ". "
    return f"{text}{separator}{_t('kept', language, n=days)}"
