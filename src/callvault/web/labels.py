"""Readable names for the codes the parts store (audit actions, objects, sources, job states,
refusal causes, languages), in the current language. Pages and the DSAR report show these,
never the codes themselves; an unknown code is shown as it is, so a new one is noticed
(tests/web/test_translations.py fails on it)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from callvault.web.i18n import gettext
from callvault.web.messages import N_, PURPOSE_LABELS, ROLE_LABELS, purpose_label, role_label

ACTION_LABELS = {
    "access.refused": N_("Access refused"),
    "account.create": N_("Account created"),
    "account.disable": N_("Account disabled"),
    "account.password_change": N_("Password changed"),
    "account.role_change": N_("Role changed"),
    "account.totp_enrol": N_("Two-factor authentication set up"),
    "account.totp_reset": N_("Two-factor authentication reset"),
    "audit.read": N_("Audit trail read"),
    "audit.verify": N_("Audit chain verified"),
    "auth.login": N_("Logged in"),
    "auth.login_failed": N_("Login failed"),
    "auth.logout": N_("Logged out"),
    "consent.given": N_("Consent given"),
    "consent.no_answer": N_("No answer to the consent question"),
    "consent.refused": N_("Consent refused"),
    "dsar.bundle_delete": N_("Access request bundle shredded"),
    "dsar.close": N_("Access request closed"),
    "dsar.deliver": N_("Access request delivered"),
    "dsar.download": N_("Access request bundle downloaded"),
    "dsar.export": N_("Access request bundle built"),
    "dsar.open": N_("Access request opened"),
    "grant.create": N_("Grant created"),
    "grant.revoke": N_("Grant revoked"),
    "policy.approve": N_("Policy version approved"),
    "policy.draft_create": N_("Policy draft created"),
    "policy.draft_discard": N_("Policy draft discarded"),
    "policy.prompt_audio": N_("Consent prompt audio uploaded"),
    "recording.download": N_("Recording downloaded"),
    "recording.ingest": N_("Recording ingested"),
    "recording.list": N_("Recordings listed"),
    "recording.mark": N_("Passage marked for masking"),
    "recording.metadata": N_("Recording details read"),
    "recording.play": N_("Recording played"),
    "recording.provider_delete": N_("Provider's copy deleted"),
    "recording.transcript": N_("Transcript read"),
    "recording.view": N_("Recording opened"),
    "retention.delete": N_("Deleted at the end of retention"),
    "service_account.create": N_("Service token created"),
    "vault.fsck_repair": N_("Storage repaired"),
    "webhook.forged": N_("Forged provider request"),
    "withdrawal.register": N_("Consent withdrawn"),
}

OBJECT_LABELS = {
    "account": N_("Account"),
    "consent_evidence": N_("Consent evidence"),
    "dsar": N_("Access request"),
    "grant": N_("Grant"),
    "policy_draft": N_("Policy draft"),
    "policy_version": N_("Policy version"),
    "recording": N_("Recording"),
    "route": N_("Page or API route"),
    "service_account": N_("Service token"),
    "session": N_("Login session"),
    "webhook": N_("Provider request"),
    "withdrawal": N_("Withdrawal"),
}

# Where something came from: consent evidence, withdrawals, deletions, audit sources.
SOURCE_LABELS = {
    "ivr": N_("Telephone menu (IVR)"),
    "ingest": N_("Recording platform (ingest API)"),
    "api": N_("API"),
    "web": N_("Web"),
    "cli": N_("Command line"),
    "worker": N_("Background job"),
    "retention": N_("End of retention"),
    "withdrawal": N_("Withdrawal of consent"),
}

TRANSFER_STATE_LABELS = {
    "pending": N_("Waiting to be fetched"),
    "fetched": N_("Fetched"),
    "ingested": N_("Stored, provider copy not yet deleted"),
    "provider_deleted": N_("Done (provider copy deleted)"),
    "discarded": N_("Discarded (no consent)"),
    "failed": N_("Failing (still retried)"),
    "failed_permanently": N_("Refused by the vault (not retried)"),
}

# Why an access (details.why) or another request was refused.
REFUSAL_LABELS = {
    "role": N_("The role does not allow it"),
    "variant": N_("No valid variant"),
    "purpose": N_("No registered purpose given"),
    "reason": N_("No reason, or shorter than 10 characters"),
    "unknown": N_("No such recording"),
    "no_grant": N_("No grant covers it"),
    "download": N_("The grant does not allow downloads"),
    "credentials": N_("Wrong email address, password or code"),
    "blocked": N_("Too many attempts"),
    "signature": N_("Missing or wrong provider signature"),
    "role_change": N_("Only a DPO gives or takes the DPO role"),
}

ERROR_LABELS = {
    "authentication_failed": N_("Authentication failed"),
    "conflict": N_("Conflicts with what is stored"),
    "consent_missing": N_("No consent"),
    "internal_error": N_("Internal error"),
    "invalid_audio": N_("Not usable audio"),
    "invalid_input": N_("Invalid input"),
    "invalid_phone_number": N_("Not a phone number"),
    "keyring_error": N_("Key store error"),
    "not_found": N_("Not found"),
    "permission_denied": N_("Not allowed"),
    "provider_error": N_("The provider failed or refused"),
    "retention_expired": N_("Retention already over"),
    "storage_error": N_("Storage error"),
    "too_large": N_("Too large or too long"),
}

OUTCOME_LABELS = {"ok": N_("Allowed"), "refused": N_("Refused"), "error": N_("Error")}
LANGUAGE_NAMES = {"sv": N_("Swedish"), "en": N_("English")}
ACTOR_LABELS = {
    "system": N_("The system"),
    "anonymous": N_("Someone not logged in"),
    "unknown": N_("Unknown"),
    "service:ingest": N_("Recording platform (ingest API)"),
    "service:telephony": N_("Telephony provider"),
}
PLACEHOLDERS = {"[phone]": N_("[phone number]"), "[email]": N_("[email address]")}

_PURPOSE_PREFIX = re.compile(r"^([a-z][a-z0-9_]*): ")


def _label(table: Mapping[str, str], code: str | None) -> str:
    if not code:
        return "–"
    return gettext(table[code]) if code in table else code


def action_label(code: str) -> str:
    return _label(ACTION_LABELS, code)


def object_label(code: str | None) -> str:
    return _label(OBJECT_LABELS, code)


def source_label(code: str | None) -> str:
    return _label(SOURCE_LABELS, code)


def transfer_state_label(code: str) -> str:
    return _label(TRANSFER_STATE_LABELS, code)


def language_name(code: str | None) -> str:
    """`sv` → "svenska" on a Swedish page, "Swedish" on an English one."""
    return _label(LANGUAGE_NAMES, (code or "").split("-", 1)[0] or None)


def actor_label(actor: str, accounts: Mapping[str, str]) -> str:
    """An account's email, a service token's name, or what `system`/`anonymous` mean."""
    if actor in accounts:
        return accounts[actor]
    if actor.startswith("service:"):
        return gettext("Service token %(id)s") % {"id": actor.removeprefix("service:")[:8]}
    return _label(ACTOR_LABELS, actor)


def outcome_label(code: str | None) -> str:
    return _label(OUTCOME_LABELS, code)


def role_or_actor_label(role: str) -> str:
    """A role as the DSAR report shows who had access: a person's role, a service, the system."""
    return role_label(role) if role in ROLE_LABELS else _label(ACTOR_LABELS, role)


def error_label(code: str | None) -> str:
    """An error code (`provider_error`, or `provider_error:http_503` with its detail)."""
    if not code:
        return "–"
    base, _, detail = code.partition(":")
    label = _label(ERROR_LABELS, base)
    return f"{label} ({detail})" if detail and base in ERROR_LABELS else label


def reason_label(reason: str | None) -> str:
    """A stated reason as stored (`training: …`, with `[phone]` where a number was removed)
    with the purpose and the placeholders in the reader's language."""
    if not reason:
        return "–"
    match = _PURPOSE_PREFIX.match(reason)
    if match and match.group(1) in PURPOSE_LABELS:
        reason = f"{purpose_label(match.group(1))}: {reason[match.end() :]}"
    for placeholder, label in PLACEHOLDERS.items():
        reason = reason.replace(placeholder, gettext(label))
    return reason


def refusal_label(action: str, reason: str | None, details: Mapping[str, object] | None) -> str:
    """Why a refused entry was refused, from what the refusing part wrote down."""
    found = details or {}
    if action == "access.refused":
        return _label(REFUSAL_LABELS, str(found.get("why") or "") or None)
    if action == "auth.login_failed":
        return gettext(REFUSAL_LABELS["blocked" if found.get("blocked") else "credentials"])
    if action == "webhook.forged":
        return gettext(REFUSAL_LABELS["signature"])
    if action == "account.role_change":
        return gettext(REFUSAL_LABELS["role_change"])
    if action == "recording.ingest":
        return error_label(reason)
    return "–"


#: What the page templates may call.
TEMPLATE_GLOBALS = (
    "action_label",
    "actor_label",
    "error_label",
    "language_name",
    "object_label",
    "outcome_label",
    "reason_label",
    "refusal_label",
    "source_label",
    "transfer_state_label",
)
