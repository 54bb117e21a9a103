"""No lead forgotten: activities, follow-ups, first-contact SLAs, nurture cadences.

Pure domain like `routing/engine.py`: no I/O, no clock read; every input (settings, the agent,
the org time zone, now) is passed in. `store/activities.py`, `store/followups.py` and the followup
function's tick do the reading and writing.
"""
