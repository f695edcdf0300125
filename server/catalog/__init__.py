"""The catalog: units, service paths with ordered steps, and kiosks."""
