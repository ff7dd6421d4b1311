"""Pages every signed-in user has: home, profile, language, health."""
