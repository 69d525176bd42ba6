from quay_cli.cli import main

main()
