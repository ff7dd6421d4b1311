"""Access reviews: campaigns, reviewers\x27 decisions, evidence, grant hygiene."""
