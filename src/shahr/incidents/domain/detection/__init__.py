"""Automatic incident detection on loop detectors' minutes (pure, numpy).

- `series`: lane minutes into station series and station pairs (NaN for no data).
- `california`: California algorithm #7 (Payne and Tignor 1978), the baseline.
- `anomaly`: the method in use, a pair's anomaly against its own recent normal.
- `pairs`: which segment is straight on from which (a station's downstream neighbour).
- `live`: the alarms that start at the latest minute, for the job.

How they compare on the SUMO twin: `python -m shahr.demo.twin.incident_cli`.
"""
