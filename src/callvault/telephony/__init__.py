"""Telephony providers: the consent IVR on Twilio-compatible webhooks (§4)."""
