"""Identity: citizens (mobile number + one-time code), staff and roles, vehicles, API keys."""
