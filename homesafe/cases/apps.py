from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "homesafe.cases"
    label = "cases"
