"""Agent definitions (agents.yaml: role, goal, backstory, tools, model tier). Above engine/."""
