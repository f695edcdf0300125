"""Who is calling: API keys for machines, (later) sessions for staff, and role guards."""
