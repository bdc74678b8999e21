"""One module per benchmark section; each ``run(bench)`` adds its rows."""
