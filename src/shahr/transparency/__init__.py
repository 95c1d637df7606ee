"""Transparency: municipal contracts (OCDS) and citizen reports (Open311)."""
