"""The bundled todo service: the Hanbit TODO backend (API Gateway + Lambda `todo-api` + DynamoDB
`todos` + Cognito) played on one machine.

- `service.api`: the Lambda-style functions, `handler(event, context)` over API Gateway proxy events.
- `service.store`: the `TodoStore` protocol with SQLite (default) and DynamoDB implementations.
- `service.identity`: the local Cognito stand-in (users, password hashes, JWTs, revocation, lockout).
- `service.runtime`: the local API Gateway + Lambda runtime (ASGI), request logs and metrics.
- `service.server` / `service.launcher`: run it (`hanbit-drill serve`) or start/stop it from code.
"""
