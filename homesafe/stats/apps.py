from django.apps import AppConfig


class StatsConfig(AppConfig):
    name = "homesafe.stats"
    label = "stats"
    verbose_name = "Statistics and accountability"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save, pre_save

        from homesafe.reports.models import Report
        from homesafe.stats import rollup

        pre_save.connect(rollup.before_save, sender=Report, dispatch_uid="stats_before_save")
        post_save.connect(rollup.after_save, sender=Report, dispatch_uid="stats_after_save")
        post_delete.connect(rollup.after_delete, sender=Report, dispatch_uid="stats_after_delete")

        from homesafe.common.loops import register_loop
        from homesafe.stats.services import handle_one_monthly_release

        register_loop("stats-monthly-release", handle_one_monthly_release, idle_seconds=3600)
