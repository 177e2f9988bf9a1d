from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "homesafe.evidence"
    label = "evidence"

    def ready(self) -> None:
        from homesafe.common.loops import register_loop
        from homesafe.evidence import services

        # Unfinished uploads past their expiry lose their rows and bytes.
        register_loop("evidence-cleanup", services.handle_one_expired_upload, idle_seconds=60)
        # Viewing copies (metadata stripped) and metadata extraction, one item per step.
        register_loop("evidence-viewing", services.handle_one_viewing_copy, idle_seconds=5)
