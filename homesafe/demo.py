"""Wellington demo data (filled in by the demo seeding work)."""

from __future__ import annotations

DEMO_PASSWORD = "walk-home-safe-2026"
DEMO_ORG_SLUG = "rainbow-wellington"


def demo_logins() -> list[tuple[str, str]]:
    return [
        ("org admin", "admin@demo.homesafe.nz"),
        ("caseworker", "aroha@demo.homesafe.nz"),
        ("caseworker", "sam@demo.homesafe.nz"),
        ("member", "member@demo.homesafe.nz"),
        ("volunteer", "volunteer01@demo.homesafe.nz"),
    ]
