"""Watch sessions and their record: the runners that execute sessions (threads of this process, or workers
of a fleet) and the recorder that writes what they report into the database."""
