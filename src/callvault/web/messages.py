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

SPEAKER_LABELS = {
    "agent": N_("Agent"),
    "customer": N_("Customer"),
    "mixed": N_("Both speakers"),
}

FLASH_MESSAGES = {
    "password": N_("Your password has been changed."),
    "totp": N_("Two-factor authentication is set up."),
    "grant": N_("The grant has been created."),
    "revoked": N_("The grant has been revoked."),
    "account": N_("The account has been saved."),
    "totp_reset": N_("The account's two-factor authentication has been reset."),
    "disabled": N_("The account has been disabled."),
    "enabled": N_("The account has been enabled; the person can log in again."),
    "password_reset": N_("Your new password is set. Log in with it."),
    "token_revoked": N_("The token has been revoked; it no longer works."),
    "access_request": N_("Your request has been sent to the data protection officer."),
    "access_approved": N_("The request has been approved and the grant created."),
    "access_rejected": N_("The request has been rejected."),
    "role": N_("The role has been changed and the person's open sessions have ended."),
    "approved": N_("The policy version has been approved and published."),
    "draft": N_("The draft has been saved."),
    "dsar": N_("The access request has been saved."),
    "logged_out": N_("You have logged out."),
    "clip_marked": N_("The mark is applied and the clip is back in review."),
    "clip_approved": N_("The clip is approved and in the library."),
    "clip_rejected": N_("The clip is rejected."),
    "leak_reported": N_("Thank you. The clip is out of the library and the moment is masked."),
}


def role_label(role: str) -> str:
    return gettext(ROLE_LABELS.get(role, role))


def purpose_label(code: str) -> str:
    return gettext(PURPOSE_LABELS[code]) if code in PURPOSE_LABELS else code


def variant_label(code: str) -> str:
    return gettext(VARIANT_LABELS[code]) if code in VARIANT_LABELS else code


def speaker_label(role: str) -> str:
    return gettext(SPEAKER_LABELS[role]) if role in SPEAKER_LABELS else role


def flash_message(code: str) -> str:
    """The English msgid for a confirmation code (templates translate it); unknown codes: none."""
    return FLASH_MESSAGES.get(code, "")


# Refusals from the service functions, so a page can show them in the reader's language.
# The msgid is the service's own English message; an unknown message is shown as it is.
SERVICE_MESSAGES = frozenset(
    {
        N_("the DPO cannot grant access to themself"),
        N_("the grantee is not an active account"),
        N_("grants go to training managers and quality assurance managers only"),
        N_("that purpose is not registered in the policy in force"),
        N_("the variant is pseudonymised or original"),
        N_("valid_until must be after valid_from"),
        N_("a grant is valid for at most 90 days"),
        N_("that grant would already have expired"),
        N_("a date_range scope needs both date_from and date_until"),
        N_("date_until must be after date_from"),
        N_("a recording id is not valid"),
        N_("give the first and the last day of the grant"),
        N_("only the data protection officer manages grants"),
        N_("state a purpose registered in the policy"),
        N_("state a reason of at least 10 characters"),
        N_("choose the variant: pseudonymised or original"),
        N_("give format (csv or jsonl) and the days from and until"),
    }
)


def service_message(message: str) -> str:
    """A service's refusal in the current language when it is a known one."""
    if message in SERVICE_MESSAGES:
        return gettext(message)
    if message.startswith("the purpose ") and "allows only these variants" in message:
        return gettext(
            "Training grants may only be pseudonymised; original audio is for quality assurance only."  # noqa: E501
        )
    if message.startswith("a ") and " scope needs its " in message:
        return gettext("Fill in the field for the chosen scope.")
    return message
