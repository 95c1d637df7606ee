"""The incidents area's ports: what it reads from other areas, in its own plain values."""
