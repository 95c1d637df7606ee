"""Air quality: monitoring stations, readings, AQI, decision rules, decisions and notices."""
