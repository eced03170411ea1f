from medtrack.cli import main

main()
