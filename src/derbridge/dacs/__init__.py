"""The reference program system (the DACS/CPMCS role): customers, programs, aggregators, enrollments."""
