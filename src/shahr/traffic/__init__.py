"""Traffic: road network, detectors and cameras, readings, live segment state, indices."""
