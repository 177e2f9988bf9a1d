from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "homesafe.realtime"
    label = "realtime"
