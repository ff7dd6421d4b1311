"""Sign-in, sessions and API tokens."""
