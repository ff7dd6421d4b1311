"""Print-copy and workbook endpoints of /api/v1."""
