"""Plumbing every layer uses: atomic file writes (:mod:`~j4d.utils.files`), fault injection for
crash tests (:mod:`~j4d.utils.faults`) and matplotlib figures (:mod:`~j4d.utils.plots`)."""
