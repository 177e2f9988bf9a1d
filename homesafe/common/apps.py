from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "homesafe.common"
    label = "common"
