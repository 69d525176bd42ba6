"""Export and import of a tenant's configuration as one JSON document (docs/export-import.md)."""
