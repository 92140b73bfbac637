"""Keyboards: pure builders, no I/O; texts come translated from the caller's locale."""
