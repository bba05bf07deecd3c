"""The program system's commands, each group over its operator API."""
