"""Open data: the public API, catalog and bulk files; reads other areas only through `queries`."""
