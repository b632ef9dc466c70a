from config_service.cli.main import app

app()
