"""The listing query: access modes stay exact at and beyond the bit-tagged grant count."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from callvault.access import service
from callvault.access.grants import GrantScope
from callvault.access.models import ScopeKind
from callvault.accounts.roles import Role
from tests.access.conftest import MakeAccount, MakeGrant, MakeRecording, principal_of


@pytest.mark.parametrize("count", [1, service.MAX_MASKED_GRANTS, service.MAX_MASKED_GRANTS + 1])
def test_every_covering_grant_is_reported(
    count: int,
    make_account: MakeAccount,
    make_grant: MakeGrant,
    make_recording: MakeRecording,
    session: Session,
) -> None:
    qa = make_account(Role.QA_MANAGER)
    covered = make_recording(team="t-1", artifacts=False)
    other = make_recording(team="t-2", artifacts=False)
    grants = [make_grant(qa, scope=GrantScope(ScopeKind.TEAM, team="t-1")) for _ in range(count)]
    make_grant(qa, scope=GrantScope(ScopeKind.TEAM, team="t-2"), variant="pseudonymised")
    listed = service.visible_recordings(session, principal_of(qa))
    by_id = {item.recording.id: item for item in listed.items}
    assert set(by_id) == {covered.id, other.id}
    assert {m.grant_id for m in by_id[covered.id].modes} == {g.id for g in grants}
    assert [m.variant for m in by_id[other.id].modes] == ["pseudonymised"]
