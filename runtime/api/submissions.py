"""Submission endpoints of /api/v1."""
