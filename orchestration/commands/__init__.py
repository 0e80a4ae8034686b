"""One module per `beacon` command group."""
