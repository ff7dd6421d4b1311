"""The form runtime: published templates become forms people fill, save and submit."""
