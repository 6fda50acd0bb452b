"""View helpers shared by the pages: the page table, caches, figures, run pickers, widget state."""
