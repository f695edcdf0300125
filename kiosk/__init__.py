"""What clients see: the waiting-room kiosk page, its answer flow and its translations."""
