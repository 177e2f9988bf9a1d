from django.urls import include, path

from config.api import api
from homesafe.common import views as common_views

urlpatterns = [
    path("", common_views.home, name="home"),
    path("healthz", common_views.healthz, name="healthz"),
    path("api/", api.urls),
    path("account/", include("homesafe.accounts.urls")),
    path("", include("homesafe.reports.urls")),
    path("", include("homesafe.walks.urls")),
    path("", include("homesafe.evidence.urls")),
    path("", include("homesafe.cases.urls")),
    path("", include("homesafe.stats.urls")),
]
