"""Fixed interface texts chosen by code (roles, outcomes, confirmations), marked for extraction."""

from __future__ import annotations

from callvault.web.i18n import gettext


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    return message


ROLE_LABELS = {
    "dpo": N_("Data protection officer"),
    "training_manager": N_("Training manager"),
    "qa_manager": N_("Quality assurance manager"),
    "agent": N_("Customer service agent"),
    "it_admin": N_("IT administrator"),
}

PURPOSE_LABELS = {
    "training": N_("Training"),
    "quality_assurance": N_("Quality assurance"),
}

VARIANT_LABELS = {
    "pseudonymised": N_("Pseudonymised"),
    "original": N_("Original"),
}

FLASH_MESSAGES = {
    "password": N_("Your password has been changed."),
    "totp": N_("Two-factor authentication is set up."),
    "grant": N_("The grant has been created."),
    "revoked": N_("The grant has been revoked."),
    "account": N_("The account has been saved."),
    "totp_reset": N_("The account's two-factor authentication has been reset."),
    "disabled": N_("The account has been disabled."),
    "approved": N_("The policy version has been approved and published."),
    "draft": N_("The draft has been saved."),
    "dsar": N_("The access request has been saved."),
    "logged_out": N_("You have logged out."),
}


def role_label(role: str) -> str:
    return gettext(ROLE_LABELS.get(role, role))


def purpose_label(code: str) -> str:
    return gettext(PURPOSE_LABELS[code]) if code in PURPOSE_LABELS else code


def variant_label(code: str) -> str:
    return gettext(VARIANT_LABELS[code]) if code in VARIANT_LABELS else code


def flash_message(code: str) -> str:
    """The English msgid for a confirmation code (templates translate it); unknown codes: none."""
    return FLASH_MESSAGES.get(code, "")
