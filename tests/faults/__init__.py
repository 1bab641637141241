"""Helpers of tests/test_faults.py: scripts run in child processes (a process that dies or is
limited mid-write) and the checks of an output folder they leave. No tests here."""
