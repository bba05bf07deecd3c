"""Enrollments migrated in bulk from a legacy program system, and their initial sync to DERMS as one file (F5,
bulk)."""
