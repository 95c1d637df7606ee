"""The web shell: layout, languages, errors, security headers, CSRF. Areas add routes to it."""
