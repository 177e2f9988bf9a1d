from django.apps import AppConfig


class WalksConfig(AppConfig):
    name = "homesafe.walks"
    label = "walks"

    def ready(self) -> None:
        from django.conf import settings

        from homesafe.common.loops import register_loop
        from homesafe.walks.services import handle_one_due_walk, handle_one_retention

        # Deadlines (widen the search, overdue prompt, escalation): polled often, because the
        # benchmark promises every alert row within the poll interval plus a second.
        register_loop(
            "walk-deadlines", handle_one_due_walk, idle_seconds=settings.WALK_POLL_SECONDS
        )
        register_loop("walk-retention", handle_one_retention, idle_seconds=60)
