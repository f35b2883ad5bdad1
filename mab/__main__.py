from mab.cli import main

main()
