"""Incidents' read side: the queue, one incident in full, the units board, the day's KPIs."""
