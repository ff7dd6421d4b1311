"""Administration: departments, users, roles and grants; and the auditor's trail."""
