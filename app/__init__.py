"""The mlpipex GitHub App (webhooks, ChatOps, retraining PRs). Filled by the App work."""

__all__: list[str] = []
