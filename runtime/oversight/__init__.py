"""Oversight for auditors and administrators: the operation log (filters, paging, Excel and
CSV exports, the hash chain's state) and "who can see what" (a person's effective rights
and where each came from; a form's, report's or field's audience).

Every answer comes from :mod:`quire.runtime.access` (who may open these pages, whose rights
a reader may inspect, who holds what) and from the audit trail as the reader may see it
(:mod:`quire.runtime.audit_view`); nothing here decides access itself.
"""
