"""Incidents' domain: pure rules (statuses, timeline, units, routing, detection), time passed in."""
