"""Fixtures for the metrics tests: the accounts and access fixtures, shared."""

from tests.access import conftest as access_fixtures

keyring_ready = access_fixtures.keyring_ready
make_account = access_fixtures.make_account
make_recording = access_fixtures.make_recording
