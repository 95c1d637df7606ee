"""Incidents: detection, timeline, units and dispatch, the command dashboard."""
