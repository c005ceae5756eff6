"""covcone (under construction)."""
