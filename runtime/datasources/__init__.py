"""Data sources: connectors configured by a finance administrator, used by templates.

`vault` keeps secrets encrypted, `service` creates, changes, tests and previews sources and
says where each is used, `reports` feeds report datasets from them, `views` is the admin page.
"""
