"""The kernel: settings, ports with their embedded adapters, and the web shell. Imports no area."""
