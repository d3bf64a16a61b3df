from infantpose.cli import main

main()
