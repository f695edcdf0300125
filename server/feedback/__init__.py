"""Ratings in: kiosk and SMS ingestion, invitations, roll-ups, statistics."""
