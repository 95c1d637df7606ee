"""Parking: districts and zones, meters, bays, tariffs, quotes, reservations, bay lights."""
