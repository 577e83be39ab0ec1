"""Write-audit-publish: analysts read only audited builds, all marts switched together.

dbt builds into its own schemas (the build area; analysts have no access). ``elt publish``
audits the build from dbt's run results (every model, seed, snapshot and test of the project
ran, none failed), copies the marts into a new numbered version and switches analysts to it
at once: on PostgreSQL the views of the published schema are replaced in one transaction;
on DuckDB the published file is replaced by a rename. ``elt rollback`` switches back,
``elt versions`` lists what is kept (the last ELT_PUBLISH_KEEP versions).
"""
