"""Sample-data generator for the retailer (``elt generate``)."""
