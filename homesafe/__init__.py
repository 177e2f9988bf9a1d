"""homesafe: a community safety platform."""

__version__ = "0.1.0"
