"""Shahr (شهر): an open-source smart-city platform, built first for Tehran."""

__version__ = "0.1.0"
