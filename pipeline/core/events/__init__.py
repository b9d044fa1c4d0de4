"""Events and their wire format: observations, outcomes, ticks, control commands, records, the
codec."""
