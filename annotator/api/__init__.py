"""JSON endpoints of the labeling page (DRF). Thin: reads go through
annotator.labeling's selectors, writes through its services."""
