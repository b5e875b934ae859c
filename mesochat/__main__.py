from mesochat.cli import main

main()
