"""Settings of test server processes: production settings plus the diagnostic publish view."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "homesafe.realtime.tests.diagnostic"
