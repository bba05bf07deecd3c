"""DERMS's commands (network, registry, availability, head ends), each group over its operator API."""
