from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "homesafe.notify"
    label = "notify"

    def ready(self) -> None:
        from django.conf import settings

        from homesafe.common.loops import register_loop
        from homesafe.notify import checks  # noqa: F401  (registers the system checks)
        from homesafe.notify.services import handle_one_notification, handle_one_notification_purge

        register_loop(
            "notifications",
            handle_one_notification,
            idle_seconds=settings.NOTIFY_POLL_SECONDS,
            threads=settings.NOTIFY_THREADS,
        )
        register_loop("notification-retention", handle_one_notification_purge, idle_seconds=300)
