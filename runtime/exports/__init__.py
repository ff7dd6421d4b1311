"""Print copies of submissions (PDF, Excel) and offline Excel workbooks for filling forms."""
