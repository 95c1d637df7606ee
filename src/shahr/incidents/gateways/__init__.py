"""Incidents' ports to other areas and devices: Protocols and the plain values they speak."""
