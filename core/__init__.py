"""Small helpers every app may use (money, rates). Not an app: no models, imports no app."""
