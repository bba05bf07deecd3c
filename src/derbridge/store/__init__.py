"""Shared database plumbing: engine factory, migrations runner, outbox sender. No domain code."""
