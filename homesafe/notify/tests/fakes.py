"""Stand-ins for the SMS and push providers: the only parts of delivery that are faked."""

from __future__ import annotations

from typing import ClassVar


class RecordingGateway:
    sent: ClassVar[list[tuple[str, str, str]]] = []

    def send(self, recipient: str, text: str, idempotency_key: str) -> None:
        self.sent.append((recipient, text, idempotency_key))


class RefusingGateway:
    def send(self, recipient: str, text: str, idempotency_key: str) -> None:
        raise RuntimeError(f"provider rejected {recipient}")
