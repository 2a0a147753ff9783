from nodedc_gateway.entrypoints.cli import main

main()
