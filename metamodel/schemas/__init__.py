"""Published JSON Schemas (data files); a package only so that they ship with the code."""
