"""The Gradio apps (customer, reviewer, manager) and the launcher. Handlers call `claims.service` only."""
