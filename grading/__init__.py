"""Instructor tooling for Deep Vision: release, sanitise, autograde, feedback, grades (the `course` CLI)."""
