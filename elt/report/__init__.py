"""`elt report`: the monitoring page, one static HTML file with the run history and the KPIs."""
