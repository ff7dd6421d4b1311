"""Report endpoints of /api/v1 (reports, exports, jobs)."""
