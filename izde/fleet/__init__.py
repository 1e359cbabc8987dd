"""The fleet: watch sessions on stateless ``izde worker`` processes over NATS JetStream, with the database as
the record. Workers hold the vision stack and nothing else; servers own the record and answer the workers."""
