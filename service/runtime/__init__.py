"""The local API Gateway + Lambda runtime: HTTP in, proxy events to functions, logs and metrics out."""
