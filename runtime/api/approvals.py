"""Approval endpoints of /api/v1 (submit, actions, history, inbox)."""
