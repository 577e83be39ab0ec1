"""The run history: every `elt load` and dbt invocation, appended to the warehouse after the run."""
