"""Administration: departments, users, roles and grants."""
