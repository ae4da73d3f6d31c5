from refgen.cli import main

main()
