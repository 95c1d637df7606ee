from shahr.cli import main

main()
