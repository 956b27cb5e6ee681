"""The bundled service's control plane: the state every worker follows and the control API."""
