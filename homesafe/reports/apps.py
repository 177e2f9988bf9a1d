from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "homesafe.reports"
    label = "reports"
