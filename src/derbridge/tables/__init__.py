"""The one table-file toolkit: what a file must hold (spec), reading it in chunks, checking every value, and
loading it into a system's tables; one refusal format naming columns and rows."""
