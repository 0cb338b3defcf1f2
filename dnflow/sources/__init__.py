"""Sources fetch or open raw data and archive it verbatim; they never reshape it."""
