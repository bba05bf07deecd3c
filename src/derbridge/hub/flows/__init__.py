"""One module per flow; registry.py is the table of contents."""
