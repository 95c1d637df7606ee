"""Indicators: smart-city indicators with targets, computed from other areas' queries."""
