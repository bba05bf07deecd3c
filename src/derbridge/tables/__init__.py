"""The one table-file toolkit: every Parquet or CSV file the systems exchange is declared, read, checked and
loaded here, and refused in one format naming columns and rows.

spec.py      what a file must hold (FileColumn, FileSpec) and where a loaded one goes (TableSpec); formats and
             media types; standard library only
read.py      the streaming reader: schema from the file alone, rows in bounded chunks numbered from 1
values.py    a column's values read as its kind (polars expressions)
check.py     the checker: columns, every value, keys given once, rows that agree
refusals.py  the refusal format (errors.FileRefused) and its limit of rows named
load.py      a checked file into a table (staging, references, upsert) or into a new Parquet file
uploads.py, endpoint.py   the HTTP parts; cis.py the CIS extract's columns; frames.py checks on frames
"""
