"""The parking area's tables and repositories, split by concept."""

from shahr.parking.persistence.geography import (
    DistrictRow,
    GeographyRepository,
    MetroStationRow,
    ParkingUnitOfWork,
)

__all__ = [
    "DistrictRow",
    "GeographyRepository",
    "MetroStationRow",
    "ParkingUnitOfWork",
]
