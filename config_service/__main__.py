from config_service.cli.main import main

main()
