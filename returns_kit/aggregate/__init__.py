"""``returns aggregate``: many councils' returns into national tables, flags and a manifest."""
