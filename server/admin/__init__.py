"""Staff administration pages (server-rendered, behind staff sign-in)."""
