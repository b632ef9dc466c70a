"""The web console (`/ui`, DESIGN §12.1) and the offline API docs (`/docs`, `/redoc`)."""
