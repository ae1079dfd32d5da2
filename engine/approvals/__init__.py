"""The human-in-the-loop approval queue: items that wait for a decision, the policy that
passes the safe ones, and the way a paused flow resumes once its items are decided."""
