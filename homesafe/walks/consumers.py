"""The walk-home WebSocket: offers for volunteers, live positions and walk state for the
people on a walk and their trusted contacts. Thin: authorization is the access checkpoint's."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from channels.db import database_sync_to_async

from homesafe.common.errors import NotFound
from homesafe.realtime.consumers import HomesafeSocket
from homesafe.walks import events, selectors
from homesafe.walks.access import (
    access_volunteer_profile,
    access_walk,
    access_watch_by_session,
)

CLOSE_WATCH_REVOKED = 4403


def groups_for(user: Any, session: Any) -> list[str]:
    """The groups this socket may follow: the caller's own walk, their volunteer offers, and
    a walk they opened as a trusted contact (its watch id kept in the session, not the URL)."""
    groups: list[str] = []
    if getattr(user, "is_authenticated", False):
        walk = selectors.active_walk_for(user)
        if walk is not None:
            access_walk(user, walk.pk)  # the same checkpoint as the pages
            groups.append(events.walk_group(walk.pk))
        with contextlib.suppress(NotFound):  # not a volunteer
            groups.append(events.volunteer_group(access_volunteer_profile(user).pk))
    with contextlib.suppress(NotFound):  # not following anyone's walk as a contact
        watch = access_watch_by_session(session)
        groups += [events.walk_group(watch.walk_id), events.watch_group(watch.pk)]
    return groups


class WalkSocket(HomesafeSocket):
    allow_anonymous = True  # trusted contacts have no account; they still need a live watch

    async def authorize(self) -> list[str]:
        return await database_sync_to_async(groups_for)(
            self.scope.get("user"), self.scope.get("session")
        )

    async def _send_text(self, text: str) -> None:
        await super()._send_text(text)
        # A revoked link stops at once: the contact's socket is told, then closed, and leaves
        # the walk's group, whatever the page does with the message.
        if len(text) < 64 and json.loads(text).get("type") == events.WATCH_REVOKED:
            self._stop_pushes()
            await self._close_quietly(CLOSE_WATCH_REVOKED)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # After asking for or accepting a walk, the page asks the socket to follow the new
        # walk too; the same checkpoint decides again.
        if content.get("type") == "refresh":
            for group in await self.authorize():
                self.follow(group)
