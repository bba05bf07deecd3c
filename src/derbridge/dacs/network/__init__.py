"""Network locations of service points (F1): DERMS's exports applied as effective-dated records, and where
a service point was on a given day."""
