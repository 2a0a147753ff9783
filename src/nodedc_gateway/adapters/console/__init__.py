"""Console link and session stores: in process, and in the gateway database."""
