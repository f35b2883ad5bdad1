"""Files mab writes: the one YAML module (`yamlio`), round-trip merging into files users edit
(`merge`) and the all-or-nothing write plan (`plan`)."""
