from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "homesafe.evidence"
    label = "evidence"
