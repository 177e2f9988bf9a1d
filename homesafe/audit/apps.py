from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "homesafe.audit"
    label = "audit"
