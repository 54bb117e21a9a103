"""Working time (shifts, leave): `leadrelay.models.working_time`, beside the types the stores persist
(a store may not import the domain). This old import path only re-exports (issue #8)."""

from leadrelay.models.working_time import (  # noqa: F401
    add_working_minutes,
    back_from_leave,
    next_working_moment,
    shift_intervals,
)
