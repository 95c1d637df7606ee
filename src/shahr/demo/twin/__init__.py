"""The SUMO digital twin: a simulated district whose devices feed the platform like real ones.

- `scenario`: the network (a georeferenced grid from netgenerate), demand through the day
  (randomTrips.py), sensors (E1 loops, plate cameras) and SUMO's ground truth (edgeData);
  what it is built from in `scenario_specs`, SUMO's files for it in `sumo_files`.
- `run`: SUMO over spans of the day, into `DetectorReading`s, `PlatePassage`s, `EdgeTruth`.
- `seed`: the network and sensors into the platform, through traffic's services.
- `feed`: publishing onto the sensor stream (paced or as fast as possible); `TwinFeed`, the
  demo's background part; `replay`: a recorded day for machines without SUMO.
- `accuracy`: the platform's segment states against SUMO's ground truth.

docs/decisions/0013-sumo-digital-twin.md says why it is built this way.
"""

from shahr.demo.twin.accuracy import AccuracyReport, measure_accuracy
from shahr.demo.twin.engine import SumoNotInstalledError, sumo_available
from shahr.demo.twin.feed import DEMO_RECORDING, Pace, TwinFeed, messages_of, publish
from shahr.demo.twin.replay import Recording, read_recording, write_recording
from shahr.demo.twin.run import Span, simulate, simulate_span
from shahr.demo.twin.scenario import Scenario, build_scenario, load_scenario
from shahr.demo.twin.scenario_specs import ACCURACY_SCENARIO, DEMO_SCENARIO, ScenarioSpec
from shahr.demo.twin.seed import load_into_platform

__all__ = [
    "ACCURACY_SCENARIO",
    "DEMO_RECORDING",
    "DEMO_SCENARIO",
    "AccuracyReport",
    "Pace",
    "Recording",
    "Scenario",
    "ScenarioSpec",
    "Span",
    "SumoNotInstalledError",
    "TwinFeed",
    "build_scenario",
    "load_into_platform",
    "load_scenario",
    "measure_accuracy",
    "messages_of",
    "publish",
    "read_recording",
    "simulate",
    "simulate_span",
    "sumo_available",
    "write_recording",
]
