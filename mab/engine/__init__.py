"""The build engine: the one module that runs docker (`docker`), reading what it says (`checks`),
the buildx command line (`buildcmd`) and `mab doctor`'s verdicts (`doctor`)."""
