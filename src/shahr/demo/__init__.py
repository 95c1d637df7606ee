"""The demo city and its simulated devices."""
