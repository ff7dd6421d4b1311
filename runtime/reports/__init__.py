"""The report engine: report templates resolved into scoped datasets, then rendered."""
