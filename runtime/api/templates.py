"""Template endpoints of /api/v1."""
