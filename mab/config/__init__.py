""".mab.yml: the settings model (`settings`) and reading and writing the file (`file`)."""
