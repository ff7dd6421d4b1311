"""Budget compilation rounds (预算编制) and budget adjustments (预算调整)."""
