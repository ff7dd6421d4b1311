"""Permission changes through approval: access requests, role changes, SoD rules.

``service`` holds what the ``access-request`` and ``role-change`` built-in forms check at
submission and do once approved (see :mod:`quire.runtime.approvals.outcomes`); ``rules``
keeps the separation-of-duties rules; ``reminders`` warns before temporary grants end;
``views`` and ``api`` are the pages and the REST endpoints.
"""
