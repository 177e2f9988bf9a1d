from django.urls import path

from homesafe.walks.consumers import WalkSocket

websocket_urlpatterns = [path("ws/walks/live/", WalkSocket.as_asgi())]
