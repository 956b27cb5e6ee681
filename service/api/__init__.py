"""The functions behind the API: `todo-api` (todos, health) and `auth` (the Cognito stand-in).

Both are plain `handler(event, context)` over API Gateway REST (v1) proxy events.
"""
