from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "homesafe.cases"
    label = "cases"

    def ready(self) -> None:
        from django.conf import settings

        from homesafe.cases.services import handle_one_task_reminder
        from homesafe.common.loops import register_loop

        # Task reminders are due on the minute, not the second: a relaxed poll is enough.
        register_loop(
            "case-reminders", handle_one_task_reminder, idle_seconds=settings.CASES_POLL_SECONDS
        )
