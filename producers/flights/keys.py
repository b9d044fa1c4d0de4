"""What a flight event is keyed by: the entity whose latest prediction Redis keeps.

Its own module, apart from the data set, so that the command's options and the demo's
settings name it without loading pandas (the ``[demo]`` extra).

>>> from typing import get_args
>>> get_args(KeyBy)
('origin', 'carrier', 'tailnum', 'route')
"""

from __future__ import annotations

from typing import Literal

__all__ = ["KeyBy"]

#: The origin airport, the carrier, the plane (tail number) or the route ``"EWR-IAH"``.
KeyBy = Literal["origin", "carrier", "tailnum", "route"]
