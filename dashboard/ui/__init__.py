"""Small view helpers shared by the pages: cached data, figures, digit grids, run pickers."""
