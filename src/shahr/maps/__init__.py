"""Maps: the offline base layer and place search, made from what the other areas hold.

Reads parking's and traffic's `queries` (like open data does); no area imports it.
"""
