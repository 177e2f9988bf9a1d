from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "homesafe.accounts"
    label = "accounts"
