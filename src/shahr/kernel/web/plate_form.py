"""The plate-shaped input's boxes as one form dependency, for every page that shows it.

The boxes come as `plate_<box>` fields (`shell/_plate_input.html`); a route takes them as
`boxes: PlateBoxesDep`, a dict by box name that `plate_from_form(**boxes)` reads.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form

from shahr.kernel.plate_input import PLATE_BOXES

BoxText = Annotated[str, Form(max_length=200)]


async def typed_plate_boxes(
    plate_first: BoxText = "",
    plate_letter: BoxText = "",
    plate_middle: BoxText = "",
    plate_region: BoxText = "",
    plate_top: BoxText = "",
    plate_number: BoxText = "",
) -> dict[str, str]:
    typed = (plate_first, plate_letter, plate_middle, plate_region, plate_top, plate_number)
    return dict(zip(PLATE_BOXES, typed, strict=True))


PlateBoxesDep = Annotated[dict[str, str], Depends(typed_plate_boxes)]
