from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "homesafe.common"
    label = "common"

    def ready(self) -> None:
        from homesafe.common import checks  # noqa: F401  (registers the system checks)
